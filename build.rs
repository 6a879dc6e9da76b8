//! Build script.
// geodata/ is embedded into the binary (include_dir!); rebuild when any file in it changes.
fn main() {
    println!("cargo:rerun-if-changed=geodata");
}
