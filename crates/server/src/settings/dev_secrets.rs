//! Secrets generated once into the data directory when none is configured.
//!
//! A development install must work without configuration, yet tokens issued by `pawpost token`
//! must stay valid across restarts and stored content must stay decryptable: so the secret is
//! generated on first use, written with mode 0600, and read back on every later start.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use secrecy::SecretString;

/// A new random HS256 secret: 48 random bytes, base64url (64 characters).
pub(super) fn new_jwt_secret() -> String {
    let mut bytes = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Reads the secret stored in `path`, or stores `generate()` there first if the file does not
/// exist. Returns the secret and whether it was generated now.
///
/// Creation is atomic: the secret is written to a private temporary file which is then
/// hard-linked into place, so concurrent first starts agree on one secret and nobody ever reads
/// a half-written file. Surrounding whitespace is ignored; an empty file is an error (silently
/// replacing it would invalidate every token or every stored message).
pub fn load_or_generate(
    path: &Path,
    generate: impl FnOnce() -> String,
) -> io::Result<(SecretString, bool)> {
    match read_secret(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        other => return other.map(|secret| (secret, false)),
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let secret = generate();
    let tmp = path.with_extension(format!("tmp-{:016x}", rand::random::<u64>()));
    let written = write_private(&tmp, &secret).and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    match written {
        Ok(()) => Ok((SecretString::from(secret), true)),
        // Someone else created it between our read and our link: theirs wins.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read_secret(path).map(|s| (s, false)),
        Err(e) => Err(e),
    }
}

/// The secret stored in `path` (surrounding whitespace ignored; an empty file is an error).
pub fn read_secret(path: &Path) -> io::Result<SecretString> {
    let text = fs::read_to_string(path)?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the file is empty",
        ));
    }
    Ok(SecretString::from(secret.to_owned()))
}

/// Writes `contents` to a new file readable only by its owner (on unix).
fn write_private(path: &Path, contents: &str) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}
