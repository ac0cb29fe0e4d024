//! Generates the client from the committed OpenAPI document on every build,
//! so the SDK cannot drift from the spec. progenitor reads OpenAPI 3.0, so
//! the 3.1 document is lowered first (`type: [T, "null"]` becomes
//! `nullable`), and only the JSON operations are kept: the hosted pages
//! (HTML, forms, redirects) are for browsers, not SDKs.

use serde_json::{Map, Value};

fn lower(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("$schema");
            if let Some(Value::Array(types)) = m.get("type").cloned() {
                let non_null: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
                if non_null.len() == 1 {
                    m.insert("type".into(), non_null[0].clone());
                    if non_null.len() < types.len() {
                        m.insert("nullable".into(), Value::Bool(true));
                    }
                }
            }
            for key in ["anyOf", "oneOf"] {
                if let Some(Value::Array(alts)) = m.get(key).cloned() {
                    let rest: Vec<Value> =
                        alts.iter().filter(|a| a.get("type") != Some(&Value::String("null".into()))).cloned().collect();
                    if rest.len() < alts.len() {
                        m.insert("nullable".into(), Value::Bool(true));
                        if rest.len() == 1 {
                            m.remove(key);
                            m.insert("allOf".into(), Value::Array(rest));
                        } else {
                            m.insert(key.into(), Value::Array(rest));
                        }
                    }
                }
            }
            // JSON Schema's `true` (any value, which schemars writes for a
            // free-form JSON field) is `{}` in OpenAPI 3.0.
            if let Some(Value::Object(props)) = m.get_mut("properties") {
                for p in props.values_mut() {
                    if *p == Value::Bool(true) {
                        *p = Value::Object(Map::new());
                    }
                }
            }
            if m.get("items") == Some(&Value::Bool(true)) {
                m.insert("items".into(), Value::Object(Map::new()));
            }
            if let Some(c) = m.remove("const") {
                m.insert("enum".into(), Value::Array(vec![c]));
            }
            for (_, child) in m.iter_mut() {
                lower(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(lower),
        _ => {}
    }
}

fn json_only(op: &Value) -> bool {
    let content_ok = |c: &Value| c.as_object().is_none_or(|m| m.keys().all(|k| k.contains("json")));
    let body_ok = op.get("requestBody").is_none_or(|b| content_ok(&b["content"]));
    let responses_ok = op["responses"]
        .as_object()
        .is_some_and(|r| r.iter().all(|(code, resp)| code != "303" && resp.get("content").is_none_or(content_ok)));
    body_ok && responses_ok
}

fn main() {
    let path = "../../openapi/openapi.json";
    println!("cargo:rerun-if-changed={path}");
    println!("cargo:rerun-if-changed=build.rs");
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("openapi/openapi.json")).expect("JSON");
    let mut paths = Map::new();
    for (p, ops) in doc["paths"].as_object().expect("paths") {
        let kept: Map<String, Value> = ops
            .as_object()
            .expect("ops")
            .iter()
            .filter(|(_, op)| json_only(op))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !kept.is_empty() {
            paths.insert(p.clone(), Value::Object(kept));
        }
    }
    // progenitor types a response body only as `application/json`; a problem
    // (RFC 9457) is JSON, so the typed errors become `Error<types::Problem>`.
    for ops in paths.values_mut() {
        for op in ops.as_object_mut().expect("ops").values_mut() {
            for resp in op["responses"].as_object_mut().expect("responses").values_mut() {
                if let Some(content) = resp.get_mut("content").and_then(Value::as_object_mut) {
                    if let Some(problem) = content.remove("application/problem+json") {
                        content.insert("application/json".into(), problem);
                    }
                }
            }
        }
    }
    doc["paths"] = Value::Object(paths);
    doc["openapi"] = Value::String("3.0.3".into());
    lower(&mut doc);
    let spec: openapiv3::OpenAPI = serde_json::from_value(doc).expect("a valid OpenAPI 3.0 document after lowering");
    let mut generator = progenitor::Generator::default();
    let tokens = generator.generate_tokens(&spec).expect("progenitor generates the client");
    let ast: syn::File = syn::parse2(tokens).expect("generated code parses");
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("codegen.rs");
    std::fs::write(out, prettyplease::unparse(&ast)).expect("write codegen.rs");
}
