//! What changed between two versions of a record, field by field.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldChange {
    /// Top-level field of the record (`diseases`, `region`, ...).
    pub field: String,
    /// The value before; null when the field was absent.
    pub before: Value,
    /// The value after; null when the field was removed.
    pub after: Value,
}

/// Compares two serialised records key by key, in the order of `after`'s keys
/// followed by keys only `before` has.
pub fn compare(before: &Value, after: &Value) -> Vec<FieldChange> {
    let empty = serde_json::Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    let mut changes = Vec::new();
    let keys = after
        .keys()
        .chain(before.keys().filter(|k| !after.contains_key(*k)));
    for key in keys {
        let old = before.get(key).unwrap_or(&Value::Null);
        let new = after.get(key).unwrap_or(&Value::Null);
        if old != new {
            changes.push(FieldChange {
                field: key.clone(),
                before: old.clone(),
                after: new.clone(),
            });
        }
    }
    changes
}

/// The names of the fields that differ.
pub fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    compare(before, after)
        .into_iter()
        .map(|c| c.field)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_changed_added_and_removed_fields() {
        let before = json!({"a": 1, "b": [1, 2], "gone": "x"});
        let after = json!({"a": 1, "b": [1, 3], "new": true});
        let fields = changed_fields(&before, &after);
        assert_eq!(fields, vec!["b", "new", "gone"]);
        let changes = compare(&before, &after);
        assert_eq!(changes[2].after, Value::Null);
    }
}
