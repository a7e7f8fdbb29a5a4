// `sqlx::migrate!` embeds the migration files when the crate compiles; without this, a new
// migration is missed by an incremental build that has nothing else to recompile.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
