//! Derives the compact Graph schema the emulator's tests check against from Graph's v1.0
//! metadata (CSDL, 3.5 MB): the entity types `user`, `group`, `directoryObject` and
//! `organization` of the `microsoft.graph` namespace, their base types, and every complex and
//! enum type their properties use, each property with its type. Regenerate with
//!
//! ```text
//! cargo run -p xtask --bin csdl-fixture -- ../shared/reference/graph-csdl/v1.0-cleanMetadata.xml \
//!     > crates/graph-emulator/csdl/graph-v1.0-directory.json
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use serde_json::{Value, json};

/// The entity types whose shape the emulator and the client must keep to.
const ROOTS: [&str; 4] = ["user", "group", "directoryObject", "organization"];
const NAMESPACE: &str = "microsoft.graph";

#[derive(Default)]
struct Type {
    base: Option<String>,
    properties: BTreeMap<String, String>,
    navigation: BTreeMap<String, String>,
}

#[derive(Default)]
struct Schema {
    entities: BTreeMap<String, Type>,
    complex: BTreeMap<String, Type>,
    enums: BTreeMap<String, Vec<String>>,
}

/// The value of `name="…"` in one XML tag, if present.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(&tag[start..end])
}

/// `graph.x` or `microsoft.graph.x` → `x`; `Collection(T)` → T; other namespaces stay.
fn local(type_name: &str) -> &str {
    let inner = type_name
        .strip_prefix("Collection(")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or(type_name);
    inner
        .strip_prefix("graph.")
        .or_else(|| inner.strip_prefix("microsoft.graph."))
        .unwrap_or(inner)
}

fn parse(xml: &str) -> Schema {
    let mut schema = Schema::default();
    let mut in_graph = false;
    // The type being read: (is it an entity, its name, it).
    let mut current: Option<(bool, String, Type)> = None;
    let mut current_enum: Option<(String, Vec<String>)> = None;
    for line in xml.lines() {
        let tag = line.trim();
        if tag.starts_with("<Schema ") {
            in_graph = attribute(tag, "Namespace") == Some(NAMESPACE);
            continue;
        }
        if !in_graph {
            continue;
        }
        let opens = |kind: &str| tag.starts_with(&format!("<{kind} "));
        if opens("EntityType") || opens("ComplexType") {
            let name = attribute(tag, "Name").unwrap_or_default().to_owned();
            let base = attribute(tag, "BaseType").map(|base| local(base).to_owned());
            let ty = Type {
                base,
                ..Type::default()
            };
            let is_entity = opens("EntityType");
            if tag.ends_with("/>") {
                store(&mut schema, is_entity, name, ty);
            } else {
                current = Some((is_entity, name, ty));
            }
        } else if opens("Property")
            && let (Some((_, _, ty)), Some(name), Some(kind)) =
                (&mut current, attribute(tag, "Name"), attribute(tag, "Type"))
        {
            ty.properties.insert(name.to_owned(), kind.to_owned());
        } else if opens("NavigationProperty")
            && let (Some((_, _, ty)), Some(name), Some(kind)) =
                (&mut current, attribute(tag, "Name"), attribute(tag, "Type"))
        {
            ty.navigation.insert(name.to_owned(), kind.to_owned());
        } else if (tag == "</EntityType>" || tag == "</ComplexType>")
            && let Some((is_entity, name, ty)) = current.take()
        {
            store(&mut schema, is_entity, name, ty);
        } else if opens("EnumType") {
            current_enum = Some((
                attribute(tag, "Name").unwrap_or_default().to_owned(),
                vec![],
            ));
        } else if opens("Member")
            && let (Some((_, members)), Some(name)) = (&mut current_enum, attribute(tag, "Name"))
        {
            members.push(name.to_owned());
        } else if tag == "</EnumType>"
            && let Some((name, members)) = current_enum.take()
        {
            schema.enums.insert(name, members);
        }
    }
    schema
}

fn store(schema: &mut Schema, is_entity: bool, name: String, ty: Type) {
    if is_entity {
        schema.entities.insert(name, ty);
    } else {
        schema.complex.insert(name, ty);
    }
}

fn type_json(ty: &Type) -> Value {
    json!({"base": ty.base, "properties": ty.properties, "navigation": ty.navigation})
}

/// The roots, their bases, and the complex and enum types reached from their properties.
fn compact(schema: &Schema) -> Result<Value, String> {
    let mut entities = BTreeMap::new();
    let mut wanted: Vec<String> = ROOTS.iter().map(|name| (*name).to_owned()).collect();
    let mut complex_wanted: Vec<String> = Vec::new();
    let mut complex = BTreeMap::new();
    let mut enums = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let follow = |ty: &Type, complex_wanted: &mut Vec<String>, enums: &mut BTreeMap<_, _>| {
        for kind in ty.properties.values() {
            let name = local(kind);
            if schema.complex.contains_key(name) {
                complex_wanted.push(name.to_owned());
            } else if let Some(members) = schema.enums.get(name) {
                enums.insert(name.to_owned(), json!(members));
            }
        }
    };
    while let Some(name) = wanted.pop() {
        if !seen.insert(format!("entity {name}")) {
            continue;
        }
        let ty = schema
            .entities
            .get(&name)
            .ok_or_else(|| format!("the metadata has no entity type {name:?}"))?;
        if let Some(base) = &ty.base {
            wanted.push(base.clone());
        }
        follow(ty, &mut complex_wanted, &mut enums);
        entities.insert(name, type_json(ty));
    }
    while let Some(name) = complex_wanted.pop() {
        if !seen.insert(format!("complex {name}")) {
            continue;
        }
        let Some(ty) = schema.complex.get(&name) else {
            continue;
        };
        if let Some(base) = &ty.base {
            complex_wanted.push(base.clone());
        }
        follow(ty, &mut complex_wanted, &mut enums);
        complex.insert(name, type_json(ty));
    }
    Ok(json!({
        "source": "Microsoft Graph v1.0 metadata (CSDL), namespace microsoft.graph",
        "entities": entities,
        "complex": complex,
        "enums": enums,
    }))
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: csdl-fixture PATH-TO-v1.0-cleanMetadata.xml > fixture.json");
        return ExitCode::from(2);
    };
    let xml = match std::fs::read_to_string(&path) {
        Ok(xml) => xml,
        Err(error) => {
            eprintln!("csdl-fixture: cannot read {path}: {error}");
            return ExitCode::FAILURE;
        }
    };
    match compact(&parse(&xml)).and_then(|fixture| {
        serde_json::to_string_pretty(&fixture).map_err(|error| error.to_string())
    }) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("csdl-fixture: {error}");
            ExitCode::FAILURE
        }
    }
}
