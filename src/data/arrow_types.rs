//! The Arrow types a Parquet export declares.
//!
//! A Parquet file carries, besides its own schema, the Arrow schema it was written from
//! (`ARROW:schema`), and readers restore those types. polars' writer always declares its newest
//! in-memory types: `string_view` for text and `large_list` for lists. The values are the same,
//! but the types are not the ones the input had, and readers older than Arrow 15 refuse
//! `string_view`. So an export declares, for each column of a Parquet input, the type that input
//! declares (when it holds the same kind of values), and for every other column the classic type
//! (`string`, `binary`, `list`): what a reader infers from the Parquet schema alone. The column
//! data is identical either way.

use std::path::Path;

use polars::io::parquet::read::FileMetadata;
use polars::io::parquet::write::KeyValueMetadata;
use polars::prelude::{ArrowDataType, ArrowField, ArrowSchema, CompatLevel, ParquetReader, Schema, SerReader};

/// The Arrow schema a Parquet file declares (its `ARROW:schema` entry, as written); `None` for
/// other files, files without one, or when it cannot be read (the export then declares classic
/// types, which is what readers infer for such a file).
pub fn declared(path: &Path) -> Option<ArrowSchema> {
    let parquet = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"));
    if !parquet {
        return None;
    }
    let mut r = ParquetReader::new(std::fs::File::open(path).ok()?);
    declared_in(r.get_metadata().ok()?)
}

/// [`declared`] from a Parquet file's metadata already read.
pub(crate) fn declared_in(metadata: &FileMetadata) -> Option<ArrowSchema> {
    use base64::Engine as _;
    let entry = metadata.key_value_metadata.as_ref()?.iter().find(|kv| kv.key == "ARROW:schema")?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(entry.value.as_ref()?).ok()?;
    // Arrow's legacy IPC framing: a continuation marker and a length before the message.
    let message = if bytes.len() >= 8 && bytes[..4] == [255; 4] { &bytes[8..] } else { &bytes[..] };
    polars_arrow::io::ipc::read::deserialize_schema(message).ok().map(|(schema, _, _)| schema)
}

/// The `ARROW:schema` entry for writing `schema`: each column as `like` declares it when it has
/// that column with the same kind of values, else with the classic Arrow type.
pub(crate) fn metadata(schema: &Schema, like: Option<&ArrowSchema>) -> KeyValueMetadata {
    KeyValueMetadata::Static(vec![entry(schema, like)])
}

/// The `ARROW:schema` key-value pair of [`metadata`].
pub(crate) fn entry(schema: &Schema, like: Option<&ArrowSchema>) -> polars_parquet::write::KeyValue {
    let arrow: ArrowSchema = schema
        .iter()
        .map(|(name, dtype)| {
            let ours = classic_field(dtype.to_arrow_field(name.clone(), CompatLevel::oldest()));
            let field = match like.and_then(|l| l.get(name.as_str())) {
                Some(theirs) if shape(&theirs.dtype) == shape(&ours.dtype) => ArrowField { name: name.clone(), ..theirs.clone() },
                _ => ours,
            };
            (field.name.clone(), field)
        })
        .collect();
    polars_parquet::write::schema_to_metadata_key(&arrow)
}

fn classic_field(f: ArrowField) -> ArrowField {
    ArrowField { dtype: classic(f.dtype), ..f }
}

fn classic(dtype: ArrowDataType) -> ArrowDataType {
    use ArrowDataType as A;
    match dtype {
        A::LargeUtf8 | A::Utf8View => A::Utf8,
        A::LargeBinary | A::BinaryView => A::Binary,
        A::LargeList(f) | A::List(f) => A::List(Box::new(classic_field(*f))),
        A::FixedSizeList(f, n) => A::FixedSizeList(Box::new(classic_field(*f)), n),
        A::Struct(fields) => A::Struct(fields.into_iter().map(classic_field).collect()),
        A::Dictionary(key, value, sorted) => A::Dictionary(key, Box::new(classic(*value)), sorted),
        other => other,
    }
}

/// The kind of values a type holds: the classic type with nested fields' names, nullability and
/// metadata left out, and a dictionary counted as its values.
fn shape(dtype: &ArrowDataType) -> ArrowDataType {
    use ArrowDataType as A;
    let plain = |f: &ArrowField| ArrowField::new("".into(), shape(&f.dtype), true);
    match classic(dtype.clone()) {
        A::List(f) => A::List(Box::new(plain(&f))),
        A::FixedSizeList(f, n) => A::FixedSizeList(Box::new(plain(&f)), n),
        A::Struct(fields) => A::Struct(fields.iter().map(|f| ArrowField::new(f.name.clone(), shape(&f.dtype), true)).collect()),
        A::Dictionary(_, value, _) => shape(&value),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_lists_get_the_classic_types_or_the_inputs() {
        let f32_list = |name: &str| ArrowDataType::List(Box::new(ArrowField::new(name.into(), ArrowDataType::Float32, true)));
        assert_eq!(classic(ArrowDataType::Utf8View), ArrowDataType::Utf8);
        assert_eq!(
            classic(ArrowDataType::LargeList(Box::new(ArrowField::new("item".into(), ArrowDataType::Float32, true)))),
            f32_list("item")
        );
        // The input's own field (its child's name, its large offsets) wins when the values agree.
        assert_eq!(
            shape(&f32_list("element")),
            shape(&ArrowDataType::LargeList(Box::new(ArrowField::new("item".into(), ArrowDataType::Float32, false))))
        );
        assert_ne!(shape(&f32_list("element")), shape(&ArrowDataType::Utf8));
        assert_eq!(shape(&ArrowDataType::LargeUtf8), ArrowDataType::Utf8);
    }
}
