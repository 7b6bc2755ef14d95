//! OCDS 1.1 merging: a contracting process's releases into its compiled release (the latest
//! value of every field) and its versioned release (every value each field ever had, and
//! which release gave it).
//!
//! Follows the standard's merging rules (<https://standard.open-contracting.org/1.1/en/schema/merging/>):
//! releases in date order; a field a later release omits keeps its value and a `null` removes
//! it; objects merge field by field; arrays of objects with an `id` merge item by item
//! ("identifier merge"); other arrays, and those the schema marks `wholeListMerge`, are replaced
//! whole; fields the schema marks `omitWhenMerged` are left out. The published fixtures of the
//! reference implementation (`ocdsmerge`) are the tests' oracle.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// How a field merges, from the release schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    Omit,
    WholeList,
}

/// The merge rules of a release schema, by field path (array items share their array's path).
#[derive(Clone, Debug, Default)]
pub struct MergeRules(BTreeMap<Vec<String>, Rule>);

/// Why releases could not be merged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MergeError {
    /// A release is not a JSON object.
    #[error("release {0} is not a JSON object")]
    NotAnObject(usize),
    /// A release has no `date`, or it is not a string.
    #[error("release {0} has no date (a string) to order it by")]
    NoDate(usize),
    /// One release has an object or value where another has an array, or the reverse.
    #[error("the releases disagree about /{0}: an array in one, an object or value in another")]
    InconsistentType(String),
}

fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Follows local `$ref`s (`#/definitions/...`) to the schema they name.
fn resolve<'a>(root: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..32 {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            return schema;
        };
        let Some(pointer) = reference.strip_prefix('#') else {
            return schema;
        };
        match root.pointer(pointer) {
            Some(target) => schema = target,
            None => return schema,
        }
    }
    schema
}

impl MergeRules {
    /// Reads the rules from a release schema (JSON Schema draft 4 with OCDS's merge keywords).
    pub fn from_schema(schema: &Value) -> Self {
        let mut rules = BTreeMap::new();
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            collect(schema, properties, &mut Vec::new(), &mut rules, 0);
        }
        Self(rules)
    }

    fn get(&self, path: &[String]) -> Option<Rule> {
        self.0.get(path).copied()
    }
}

fn collect(
    root: &Value,
    properties: &Map<String, Value>,
    path: &mut Vec<String>,
    rules: &mut BTreeMap<Vec<String>, Rule>,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    for (key, value) in properties {
        let value = resolve(root, value);
        path.push(key.clone());
        let kinds = types(value);
        let flag = |name: &str| value.get(name).and_then(Value::as_bool) == Some(true);
        let strategy = value.get("mergeStrategy").and_then(Value::as_str);
        if flag("omitWhenMerged") || strategy == Some("ocdsOmit") {
            rules.insert(path.clone(), Rule::Omit);
        } else if kinds.contains(&"array")
            && (flag("wholeListMerge") || strategy == Some("ocdsVersion"))
        {
            rules.insert(path.clone(), Rule::WholeList);
        } else if kinds.contains(&"object")
            && let Some(inner) = value.get("properties").and_then(Value::as_object)
        {
            collect(root, inner, path, rules, depth + 1);
        } else if kinds.contains(&"array")
            && let Some(items) = value.get("items")
        {
            let items = resolve(root, items);
            let item_kinds = types(items);
            if item_kinds.iter().any(|k| *k != "object") {
                rules.insert(path.clone(), Rule::WholeList);
            } else if item_kinds.contains(&"object")
                && let Some(inner) = items.get("properties").and_then(Value::as_object)
            {
                if inner.contains_key("id") {
                    collect(root, inner, path, rules, depth + 1);
                } else {
                    rules.insert(path.clone(), Rule::WholeList);
                }
            }
        }
        path.pop();
    }
}

/// One step of a flattened path: an object's field, or an array item by its identifier.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Key(String),
    Item(String),
}

type Path = Vec<Part>;

/// Flattened fields in first-seen order, with each identified item's original `id` value.
#[derive(Default)]
struct Flat {
    fields: Vec<(Path, Value)>,
    index: BTreeMap<Path, usize>,
    ids: BTreeMap<Path, Value>,
    /// Numbers items without an `id`, each a new item.
    anonymous: u64,
}

impl Flat {
    fn set(&mut self, path: Path, value: Value) {
        match self.index.get(&path) {
            Some(&at) => self.fields[at].1 = value,
            None => {
                self.index.insert(path.clone(), self.fields.len());
                self.fields.push((path, value));
            }
        }
    }

    fn get(&self, path: &Path) -> Option<&Value> {
        self.index.get(path).map(|&at| &self.fields[at].1)
    }
}

fn is_versioned_value(value: &Value) -> bool {
    value.as_object().is_some_and(|o| {
        o.len() == 4
            && o.keys().all(|k| {
                matches!(
                    k.as_str(),
                    "releaseID" | "releaseDate" | "releaseTag" | "value"
                )
            })
    })
}

fn id_text(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Flattens `value` at `path` (schema path `rule_path`) into `out`.
fn flatten(
    value: &Value,
    rules: &MergeRules,
    path: &mut Path,
    rule_path: &mut Vec<String>,
    versioned: bool,
    out: &mut Flat,
) {
    let entries: Vec<(Part, &Value, bool)> = match value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (Part::Key(k.clone()), v, true))
            .collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                let part = match item.get("id") {
                    Some(id) => Part::Item(id_text(id)),
                    None => {
                        out.anonymous += 1;
                        Part::Item(format!("\u{0}anonymous-{}", out.anonymous))
                    }
                };
                (part, item, false)
            })
            .collect(),
        _ => return,
    };
    for (part, child, is_field) in entries {
        if is_field && let Part::Key(k) = &part {
            rule_path.push(k.clone());
        }
        let rule = rules.get(rule_path);
        path.push(part.clone());
        if let (Part::Item(_), Some(id)) = (&part, child.get("id"))
            && !id.is_null()
        {
            out.ids.insert(path.clone(), id.clone());
        }
        if rule != Some(Rule::Omit) {
            let whole = rule == Some(Rule::WholeList)
                || !(child.is_object() || child.is_array())
                || child
                    .as_array()
                    .is_some_and(|items| items.iter().any(|i| !i.is_object()))
                || (versioned
                    && child.as_array().is_some_and(|items| {
                        !items.is_empty() && items.iter().all(is_versioned_value)
                    }));
            if whole {
                out.set(path.clone(), child.clone());
            } else if child.as_object().is_some_and(|o| !o.is_empty())
                || child.as_array().is_some_and(|a| !a.is_empty())
            {
                flatten(child, rules, path, rule_path, versioned, out);
            }
        }
        path.pop();
        if is_field {
            rule_path.pop();
        }
    }
}

fn describe(path: &[Part]) -> String {
    path.iter()
        .map(|p| match p {
            Part::Key(k) | Part::Item(k) => k.as_str(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Rebuilds JSON from flattened fields, dropping `null` leaves.
fn unflatten(flat: &Flat) -> Result<Value, MergeError> {
    let mut root = Value::Object(Map::new());
    // Where each identified item was placed in its array.
    let mut placed: BTreeMap<Path, usize> = BTreeMap::new();
    for (key, value) in &flat.fields {
        let mut current = &mut root;
        for (end, part) in key.iter().enumerate().map(|(i, p)| (i + 1, p)) {
            let prefix = &key[..end];
            match part {
                Part::Item(_) => {
                    let Value::Array(items) = current else {
                        return Err(MergeError::InconsistentType(describe(&key[..end - 1])));
                    };
                    let at = match placed.get(prefix) {
                        Some(&at) => at,
                        None => {
                            let mut node = Map::new();
                            if let Some(id) = flat.ids.get(prefix) {
                                node.insert("id".into(), id.clone());
                            }
                            items.push(Value::Object(node));
                            placed.insert(prefix.to_vec(), items.len() - 1);
                            items.len() - 1
                        }
                    };
                    current = &mut items[at];
                }
                Part::Key(name) => {
                    let Value::Object(map) = current else {
                        return Err(MergeError::InconsistentType(describe(&key[..end - 1])));
                    };
                    if map.contains_key(name) {
                        current = map.get_mut(name).expect("checked above");
                    } else if end < key.len() {
                        let next = if matches!(key[end], Part::Item(_)) {
                            Value::Array(Vec::new())
                        } else {
                            Value::Object(Map::new())
                        };
                        current = map.entry(name.clone()).or_insert(next);
                    } else {
                        if !value.is_null() {
                            map.insert(name.clone(), value.clone());
                        }
                        break;
                    }
                }
            }
        }
    }
    Ok(root)
}

/// Releases in date order (stable), or why they cannot be ordered.
fn sorted(releases: &[Value]) -> Result<Vec<&Value>, MergeError> {
    let mut ordered = Vec::with_capacity(releases.len());
    for (i, release) in releases.iter().enumerate() {
        if !release.is_object() {
            return Err(MergeError::NotAnObject(i));
        }
        if releases.len() > 1 && !release.get("date").is_some_and(Value::is_string) {
            return Err(MergeError::NoDate(i));
        }
        ordered.push(release);
    }
    if ordered.len() > 1 {
        ordered.sort_by(|a, b| {
            let date = |r: &Value| {
                r.get("date")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            date(a).cmp(&date(b))
        });
    }
    Ok(ordered)
}

fn text_or_none(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(other) if !other.is_null() => other.to_string(),
        _ => "None".into(),
    }
}

/// Flattens one release without its `tag`, numbering its items without an `id` after those
/// already in `data`, and records in `data` the `id` value of items seen for the first time.
fn flatten_release(release: &Value, rules: &MergeRules, data: &mut Flat) -> Flat {
    let mut body = release.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("tag");
    }
    let mut flat = Flat {
        anonymous: data.anonymous,
        ..Flat::default()
    };
    flatten(
        &body,
        rules,
        &mut Vec::new(),
        &mut Vec::new(),
        false,
        &mut flat,
    );
    data.anonymous = flat.anonymous;
    for (path, id) in std::mem::take(&mut flat.ids) {
        // The first release to show an item gives its `id` value.
        data.ids.entry(path).or_insert(id);
    }
    flat
}

/// Merges releases of one contracting process into its compiled release.
pub fn compile(releases: &[Value], rules: &MergeRules) -> Result<Value, MergeError> {
    let mut data = Flat::default();
    data.set(
        vec![Part::Key("tag".into())],
        Value::Array(vec![Value::String("compiled".into())]),
    );
    for release in sorted(releases)? {
        let ocid = release.get("ocid").cloned().unwrap_or(Value::Null);
        let date = release.get("date").cloned().unwrap_or(Value::Null);
        let flat = flatten_release(release, rules, &mut data);
        data.set(
            vec![Part::Key("id".into())],
            Value::String(format!(
                "{}-{}",
                text_or_none(Some(&ocid)),
                text_or_none(Some(&date))
            )),
        );
        data.set(vec![Part::Key("date".into())], date);
        data.set(vec![Part::Key("ocid".into())], ocid);
        for (path, value) in flat.fields {
            data.set(path, value);
        }
    }
    unflatten(&data)
}

/// Merges releases of one contracting process into its versioned release.
pub fn versioned(releases: &[Value], rules: &MergeRules) -> Result<Value, MergeError> {
    let mut data = Flat::default();
    for release in sorted(releases)? {
        let ocid = release.get("ocid").cloned().unwrap_or(Value::Null);
        let release_id = release.get("id").cloned().unwrap_or(Value::Null);
        let date = release.get("date").cloned().unwrap_or(Value::Null);
        let tag = release.get("tag").cloned().unwrap_or(Value::Null);
        let flat = flatten_release(release, rules, &mut data);
        let ocid_path = vec![Part::Key("ocid".into())];
        data.set(ocid_path.clone(), ocid);
        for (path, value) in flat.fields {
            if path == ocid_path {
                continue;
            }
            let unchanged = match data.get(&path) {
                Some(Value::Array(history)) => {
                    history.last().and_then(|v| v.get("value")) == Some(&value)
                }
                Some(_) => true,
                None => false,
            };
            if unchanged {
                continue;
            }
            let version = serde_json::json!({
                "releaseID": release_id,
                "releaseDate": date,
                "releaseTag": tag,
                "value": value,
            });
            match data.index.get(&path) {
                Some(&at) => {
                    if let Value::Array(history) = &mut data.fields[at].1 {
                        history.push(version);
                    }
                }
                None => data.set(path, Value::Array(vec![version])),
            }
        }
    }
    unflatten(&data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> MergeRules {
        MergeRules::from_schema(&super::super::release_schema())
    }

    #[test]
    fn schema_rules_match_the_standard() {
        let rules = rules();
        let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(rules.get(&path(&["id"])), Some(Rule::Omit));
        assert_eq!(rules.get(&path(&["date"])), Some(Rule::Omit));
        assert_eq!(rules.get(&path(&["tag"])), Some(Rule::Omit));
        // Arrays of strings replace whole; arrays of identified objects merge by id.
        assert_eq!(
            rules.get(&path(&["tender", "submissionMethod"])),
            Some(Rule::WholeList)
        );
        assert_eq!(rules.get(&path(&["awards"])), None);
    }

    #[test]
    fn identified_items_merge_and_null_removes() {
        let releases = vec![
            json!({"ocid": "o", "id": "1", "date": "2020-01-01T00:00:00Z", "tag": ["award"],
                   "awards": [{"id": "a", "status": "pending", "title": "T"}]}),
            json!({"ocid": "o", "id": "2", "date": "2020-01-02T00:00:00Z", "tag": ["award"],
                   "awards": [{"id": "a", "status": "active", "title": null}, {"id": "b"}]}),
        ];
        let compiled = compile(&releases, &rules()).unwrap();
        assert_eq!(
            compiled["awards"],
            json!([{"id": "a", "status": "active"}, {"id": "b"}])
        );
        assert_eq!(compiled["id"], "o-2020-01-02T00:00:00Z");
        let versions = versioned(&releases, &rules()).unwrap();
        assert_eq!(versions["awards"][0]["status"].as_array().unwrap().len(), 2);
        assert_eq!(versions["awards"][0]["title"][1]["value"], Value::Null);
    }

    #[test]
    fn bad_input_is_refused() {
        assert_eq!(
            compile(&[json!({"date": "x"}), json!([])], &rules()),
            Err(MergeError::NotAnObject(1))
        );
        assert_eq!(
            compile(&[json!({"date": "x"}), json!({})], &rules()),
            Err(MergeError::NoDate(1))
        );
        let clash = vec![
            json!({"ocid": "o", "date": "1", "parties": [{"id": "p"}]}),
            json!({"ocid": "o", "date": "2", "parties": {"id": "p", "name": "x"}}),
        ];
        assert!(matches!(
            compile(&clash, &rules()),
            Err(MergeError::InconsistentType(_))
        ));
    }
}
