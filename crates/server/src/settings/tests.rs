#![allow(clippy::unwrap_used)]
// `Jail::expect_with` closures must return `figment::Error`, which is large.
#![allow(clippy::result_large_err)]

//! Every test that loads layered settings runs inside figment's `Jail`: a fresh working
//! directory and environment, restored afterwards, one jail at a time.

use figment::Jail;

use super::*;

const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="; // bytes 0..32
const KEY_B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="; // bytes 32..64

fn load(overrides: &Overrides) -> Result<Settings, figment::Error> {
    Settings::load(overrides).map_err(|e| figment::Error::from(e.to_string()))
}

fn secret(s: &Option<SecretString>) -> &str {
    s.as_ref().expect("the secret is there").expose_secret()
}

#[test]
fn flags_beat_env_which_beats_the_file_which_beats_defaults() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "pawpost.toml",
            &format!(
                r#"
                bind = "127.0.0.1:1001"
                database_url = "sqlite:from-file.db"
                data_dir = "file-data"
                log_format = "json"
                jwt_secret = "file-secret"
                master_key = "{KEY_A}"
                "#
            ),
        )?;
        jail.set_env("PAWPOST_BIND", "127.0.0.1:1002");
        jail.set_env("PAWPOST_DATABASE_URL", "sqlite:from-env.db");
        jail.set_env("PAWPOST_MASTER_KEY", KEY_B);
        let overrides = Overrides {
            bind: Some("127.0.0.1:1003".parse().unwrap()),
            ..Overrides::default()
        };

        let settings = load(&overrides)?;
        assert_eq!(settings.bind, "127.0.0.1:1003".parse().unwrap()); // flag
        assert_eq!(settings.database_url, "sqlite:from-env.db"); // env over file
        assert_eq!(secret(&settings.master_key), KEY_B); // env over file
        assert_eq!(settings.data_dir, PathBuf::from("file-data")); // file over default
        assert_eq!(settings.log_format, LogFormat::Json); // file over default
        assert_eq!(secret(&settings.jwt_secret), "file-secret");
        assert!(!settings.dev); // default
        assert!(!Path::new("file-data").exists(), "nothing generated");

        let with_flag_database = Overrides {
            database_url: Some("sqlite:from-flag.db".into()),
            data_dir: Some("flag-data".into()),
            dev: Some(true),
            ..overrides
        };
        let settings = load(&with_flag_database)?;
        assert_eq!(settings.database_url, "sqlite:from-flag.db");
        assert_eq!(settings.data_dir, PathBuf::from("flag-data"));
        assert!(settings.dev);
        Ok(())
    });
}

#[test]
fn loading_writes_nothing_and_missing_secrets_are_generated_once_on_request() {
    Jail::expect_with(|_jail| {
        // Nothing configured, nothing stored: loading writes nothing, and a command that needs
        // a secret gets a clear error naming what to do.
        let bare = load(&Overrides::default())?;
        assert!(!Path::new("data").exists(), "loading wrote something");
        let err = bare.jwt_secret().unwrap_err();
        assert!(
            matches!(
                &err,
                SettingsError::MissingSecret {
                    name: "jwt_secret",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("PAWPOST_JWT_SECRET"), "{err}");
        let err = bare.master_key().unwrap_err();
        assert!(err.to_string().contains("PAWPOST_MASTER_KEY"), "{err}");

        let generated = Settings::generate_missing_secrets(&Overrides::default())
            .map_err(|e| figment::Error::from(e.to_string()))?;
        assert_eq!(generated.len(), 2);
        let first = load(&Overrides::default())?;
        assert_eq!(first.bind, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(first.data_dir, PathBuf::from("./data"));
        assert_eq!(first.database_url, "sqlite:./data/pawpost.db");
        assert_eq!(first.log_format, LogFormat::Text);
        assert!(first.master_key().is_ok());

        let stored = std::fs::read_to_string("data/jwt.secret").unwrap();
        assert_eq!(stored.trim(), secret(&first.jwt_secret));
        assert!(secret(&first.jwt_secret).len() >= 43, "at least 256 bits");
        #[cfg(unix)]
        for file in ["data/jwt.secret", "data/master.key"] {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }

        // Generated once: a second request writes nothing, the secrets stay.
        let again = Settings::generate_missing_secrets(&Overrides::default())
            .map_err(|e| figment::Error::from(e.to_string()))?;
        assert!(again.is_empty());
        let second = load(&Overrides::default())?;
        assert_eq!(secret(&second.jwt_secret), secret(&first.jwt_secret));
        assert_eq!(secret(&second.master_key), secret(&first.master_key));
        Ok(())
    });
}

#[test]
fn configured_secrets_are_never_generated() {
    Jail::expect_with(|jail| {
        jail.set_env("PAWPOST_JWT_SECRET", "configured");
        let generated = Settings::generate_missing_secrets(&Overrides::default())
            .map_err(|e| figment::Error::from(e.to_string()))?;
        assert_eq!(generated, [PathBuf::from("./data").join(MASTER_KEY_FILE)]);
        assert!(!Path::new("data/jwt.secret").exists());
        Ok(())
    });
}

#[test]
fn default_database_follows_the_data_dir() {
    Jail::expect_with(|jail| {
        jail.set_env("PAWPOST_DATA_DIR", "elsewhere");
        Settings::generate_missing_secrets(&Overrides::default())
            .map_err(|e| figment::Error::from(e.to_string()))?;
        assert!(Path::new("elsewhere/jwt.secret").is_file());
        let settings = load(&Overrides::default())?;
        assert_eq!(settings.database_url, "sqlite:elsewhere/pawpost.db");
        Ok(())
    });
}

#[test]
fn explicit_config_file_is_used_and_must_exist() {
    Jail::expect_with(|jail| {
        jail.create_file("pawpost.toml", "bind = \"127.0.0.1:1001\"")?;
        jail.set_env("PAWPOST_JWT_SECRET", "s");
        jail.set_env("PAWPOST_MASTER_KEY", KEY_A);
        jail.create_file("other.toml", "bind = \"127.0.0.1:1004\"")?;
        let settings = load(&Overrides {
            config: Some("other.toml".into()),
            ..Overrides::default()
        })?;
        assert_eq!(settings.bind.port(), 1004);

        let missing = Settings::load(&Overrides {
            config: Some("missing.toml".into()),
            ..Overrides::default()
        });
        assert!(matches!(missing, Err(SettingsError::ConfigNotFound(_))));
        Ok(())
    });
}

#[test]
fn numeric_looking_env_secrets_stay_strings() {
    Jail::expect_with(|jail| {
        jail.set_env("PAWPOST_JWT_SECRET", "1234567890");
        jail.set_env("PAWPOST_MASTER_KEY", KEY_A);
        jail.set_env("PAWPOST_DEV", "true");
        jail.set_env("PAWPOST_DATA_DIR", "2024");
        let settings = load(&Overrides::default())?;
        assert_eq!(secret(&settings.jwt_secret), "1234567890");
        assert_eq!(settings.data_dir, PathBuf::from("2024"));
        assert!(settings.dev);
        Ok(())
    });
}

#[test]
fn bad_values_are_clear_errors() {
    Jail::expect_with(|jail| {
        jail.set_env("PAWPOST_JWT_SECRET", "s");
        jail.set_env("PAWPOST_MASTER_KEY", "not base64 of 32 bytes");
        let err = Settings::load(&Overrides::default()).unwrap_err();
        assert!(matches!(err, SettingsError::InvalidMasterKey(_)), "{err}");

        jail.set_env("PAWPOST_MASTER_KEY", KEY_A);
        jail.set_env("PAWPOST_BIND", "not-an-address");
        let err = Settings::load(&Overrides::default()).unwrap_err();
        assert!(err.to_string().to_lowercase().contains("bind"), "{err}");

        jail.set_env("PAWPOST_BIND", "127.0.0.1:0");
        jail.set_env("PAWPOST_LOG_FORMAT", "xml");
        assert!(Settings::load(&Overrides::default()).is_err());

        jail.set_env("PAWPOST_LOG_FORMAT", "json");
        jail.set_env("PAWPOST_JWT_SECRET", "  ");
        let err = Settings::load(&Overrides::default()).unwrap_err();
        assert!(
            matches!(err, SettingsError::EmptySecret("jwt_secret")),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn debug_shows_no_secret_nor_database_password() {
    let mut settings = Settings::for_tests("/tmp/x", "postgres://app:hunter2@db:5432/pawpost");
    settings.jwt_secret = Some(SecretString::from("jwt-secret-value".to_owned()));
    let master = secret(&settings.master_key).to_owned();
    let debug = format!("{settings:?}");
    for leaked in ["jwt-secret-value", master.as_str(), "hunter2"] {
        assert!(!debug.contains(leaked), "{leaked} in {debug}");
    }
    assert!(
        debug.contains("postgres://app:***@db:5432/pawpost"),
        "{debug}"
    );
}

#[test]
fn for_tests_binds_port_zero_and_has_usable_keys() {
    let settings = Settings::for_tests("/tmp/x", "sqlite:/tmp/x/db");
    assert_eq!(settings.bind.port(), 0);
    assert!(settings.bind.ip().is_loopback());
    assert!(settings.master_key().is_ok());
    assert!(crate::auth::JwtKeys::from_settings(&settings).is_ok());
}

#[test]
fn stored_secret_is_generated_once_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/jwt.secret");
    let (first, created) = load_or_generate(&path, || "first".into()).unwrap();
    assert!(created);
    let (second, created) = load_or_generate(&path, || "second".into()).unwrap();
    assert!(!created);
    assert_eq!(first.expose_secret(), "first");
    assert_eq!(second.expose_secret(), "first");
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["jwt.secret"], "no temporary files left behind");
}

#[test]
fn empty_secret_file_is_an_error_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwt.secret");
    std::fs::write(&path, "\n").unwrap();
    assert!(load_or_generate(&path, || "new".into()).is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "\n");
}
