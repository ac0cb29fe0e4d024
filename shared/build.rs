//! Embeds the committed OpenAPI document minified: the pretty-printed file
//! is for reading and diffs, and would double what the Worker's bundle
//! carries for it.

fn main() {
    let path = "../openapi/openapi.json";
    println!("cargo:rerun-if-changed={path}");
    let text = std::fs::read_to_string(path).expect("openapi/openapi.json is committed");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("openapi/openapi.json is JSON");
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("openapi.min.json");
    std::fs::write(out, serde_json::to_string(&doc).expect("JSON")).expect("OUT_DIR is writable");
}
