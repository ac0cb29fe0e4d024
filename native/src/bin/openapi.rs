//! Prints Tessera's OpenAPI document, generated from the route table and the
//! body types. `scripts/openapi.sh` writes it to `openapi/openapi.json`.

fn main() {
    let doc = tessera_core::web::openapi::generate::generate();
    println!("{}", serde_json::to_string_pretty(&doc).expect("the document serializes"));
}
