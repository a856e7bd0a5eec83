//! Rebuilds this crate when a migration file changes: `sqlx::migrate!` embeds
//! `migrations/{sqlite,postgres}` at compile time, and cargo does not track those files itself.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
