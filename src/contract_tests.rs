//! Generates `lib/resilience/contract.ts` and fails when the committed one is stale.

use ts_rs::TS;

use super::*;

const HEAD: &str = "/* Generated from src/contract.rs by `npm run contract`: do not edit. `cargo test` fails when it is stale. */\n/* eslint-disable */\n";

/// `T`'s TypeScript declaration, exported, with its doc comment.
fn declare<T: TS>(cfg: &ts_rs::Config) -> String {
    let docs = T::docs().map(|d| format!("{}\n", d.trim_end())).unwrap_or_default();
    format!("\n{docs}export {}\n", T::decl(cfg))
}

/// The whole generated file.
fn typescript() -> String {
    let cfg = ts_rs::Config::new().with_large_int("number");
    let mut out = String::from(HEAD);
    for c in constants() {
        let literal = serde_json::to_string(&c.value).unwrap();
        let value = match (&c.value, c.ts_type) {
            (Value::Array(_) | Value::Object(_), Some(_)) => format!("Object.freeze({literal})"),
            (Value::Array(_) | Value::Object(_), None) => format!("Object.freeze({literal} as const)"),
            _ => literal,
        };
        let ty = c.ts_type.map(|t| format!(": {t}")).unwrap_or_default();
        out += &format!("\n/** {} */\nexport const {}{ty} = {value};\n", c.doc, c.name);
    }
    out += &declare::<crate::types::State>(&cfg);
    out += &declare::<crate::types::Failure>(&cfg);
    out += &declare::<crate::types::Reason>(&cfg);
    out += &declare::<crate::types::ErrorCode>(&cfg);
    out += &declare::<crate::config::Config>(&cfg);
    out += &declare::<crate::types::Transition>(&cfg);
    out += &declare::<crate::types::AgentTransition>(&cfg);
    out += &declare::<crate::window::WindowTotals>(&cfg);
    out += &declare::<crate::metrics::Recovery>(&cfg);
    out += &declare::<crate::snapshot::LastFailure>(&cfg);
    out += &declare::<crate::snapshot::TransitionCount>(&cfg);
    out += &declare::<crate::snapshot::Calls>(&cfg);
    out += &declare::<crate::snapshot::Snapshot>(&cfg);
    out += &declare::<crate::types::Saved>(&cfg);
    out
}

#[test]
fn the_generated_typescript_contract_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lib/resilience/contract.ts");
    let want = typescript();
    if std::env::var_os("UPDATE_CONTRACT").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(have == want, "lib/resilience/contract.ts is stale: run `npm run contract` and commit it");
}

#[test]
fn every_constant_has_a_unique_name_and_the_json_holds_them_all() {
    let all = constants();
    let parsed: serde_json::Map<String, Value> = serde_json::from_str(&json()).unwrap();
    assert_eq!(parsed.len(), all.len(), "two constants share a name");
    assert_eq!(parsed["STATES"], serde_json::json!(["CLOSED", "OPEN", "HALF_OPEN"]));
    assert_eq!(parsed["TABLE_COLUMNS"].as_array().unwrap().len(), crate::table::columns().len());
}
