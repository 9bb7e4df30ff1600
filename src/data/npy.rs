//! Reader for NumPy `.npy` files holding a 2-D float array (f32 or f64, either byte order,
//! C or Fortran order).

/// A parsed `.npy` array, converted to row-major f32.
#[derive(Debug)]
pub struct NpyArray {
    /// Row-major values.
    pub data: Vec<f32>,
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// The stored element type, e.g. `<f4`.
    pub descr: String,
    /// Whether the file stored the array in Fortran (column-major) order.
    pub fortran_order: bool,
}

/// The shape and layout of a `.npy` file, from its header alone.
#[derive(Debug, PartialEq, Eq)]
pub struct NpyHeader {
    /// Element type string.
    pub descr: String,
    /// Column-major storage.
    pub fortran_order: bool,
    /// Array shape.
    pub shape: Vec<usize>,
    /// Byte offset of the data.
    pub data_offset: usize,
}

/// Parses the header at the start of `bytes`.
pub fn parse_header(bytes: &[u8]) -> Result<NpyHeader, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("it does not start with the .npy magic bytes".into());
    }
    let major = bytes[6];
    let (len, start) = match major {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err("the header is cut short".into());
            }
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        v => return Err(format!("unknown format version {v}")),
    };
    let end = start + len;
    if bytes.len() < end {
        return Err("the header is cut short".into());
    }
    let text = std::str::from_utf8(&bytes[start..end]).map_err(|_| "the header is not text".to_string())?;
    let descr = dict_value(text, "descr").ok_or("the header has no 'descr'")?;
    let descr = descr.trim().trim_matches(|c| c == '\'' || c == '"').to_string();
    let fortran = dict_value(text, "fortran_order").ok_or("the header has no 'fortran_order'")?;
    let fortran_order = match fortran.trim() {
        "True" => true,
        "False" => false,
        other => return Err(format!("fortran_order is '{other}'")),
    };
    let shape_text = dict_value(text, "shape").ok_or("the header has no 'shape'")?;
    let inner = shape_text.trim().trim_start_matches('(').trim_end_matches(')');
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| format!("bad shape entry '{s}'")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(NpyHeader { descr, fortran_order, shape, data_offset: end })
}

/// Why a `.npy` file could not be read.
#[derive(Debug)]
pub enum ReadFileError {
    /// The file could not be opened or read.
    Io(std::io::Error),
    /// Its contents are not a supported array (the message says why).
    Format(String),
}

/// Reads a `.npy` file. A little-endian C-order `float32` array (what `np.save` writes for
/// float32 on every common machine) is read straight into the values, with no second copy of
/// the file in memory; any other layout goes through [`read`].
pub fn read_file(path: &std::path::Path) -> Result<NpyArray, ReadFileError> {
    use std::io::Read as _;
    let mut f = std::fs::File::open(path).map_err(ReadFileError::Io)?;
    let size = f.metadata().map_err(ReadFileError::Io)?.len();
    let mut head = vec![0u8; usize::try_from(size.min(65_536)).unwrap_or(65_536)];
    f.read_exact(&mut head).map_err(ReadFileError::Io)?;
    let h = parse_header(&head).map_err(ReadFileError::Format)?;
    let direct = cfg!(target_endian = "little") && matches!(h.descr.as_str(), "<f4" | "|f4" | "=f4");
    let (rows, cols) = match h.shape.as_slice() {
        [r, c] => (*r, *c),
        [r] => (*r, 1),
        _ => (0, 0),
    };
    let single = rows <= 1 || cols <= 1;
    if !(direct && (!h.fortran_order || single) && h.shape.len() <= 2 && !h.shape.is_empty()) {
        drop(head);
        let bytes = std::fs::read(path).map_err(ReadFileError::Io)?;
        return read(&bytes).map_err(ReadFileError::Format);
    }
    let count = rows.checked_mul(cols).ok_or_else(|| ReadFileError::Format("the shape is too large".into()))?;
    let need = count.checked_mul(4).ok_or_else(|| ReadFileError::Format("the shape is too large".into()))?;
    let have = usize::try_from(size).unwrap_or(usize::MAX).saturating_sub(h.data_offset);
    if have < need {
        return Err(ReadFileError::Format(format!("the data is cut short: the header promises {need} bytes, the file has {have}")));
    }
    let mut values = vec![0.0f32; count];
    // SAFETY: the byte view covers exactly the vector's initialised f32 storage, and every bit
    // pattern is a valid f32; on a little-endian machine the file's bytes are the values.
    let bytes = unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr().cast::<u8>(), need) };
    let from_head = head.len().saturating_sub(h.data_offset).min(need);
    bytes[..from_head].copy_from_slice(&head[h.data_offset..h.data_offset + from_head]);
    f.read_exact(&mut bytes[from_head..]).map_err(ReadFileError::Io)?;
    Ok(NpyArray { data: values, rows, cols, descr: h.descr, fortran_order: h.fortran_order })
}

/// The text of `key`'s value in the header's Python dict literal.
fn dict_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let pat1 = format!("'{key}'");
    let pat2 = format!("\"{key}\"");
    let pos = text.find(&pat1).map(|p| p + pat1.len()).or_else(|| text.find(&pat2).map(|p| p + pat2.len()))?;
    let rest = text[pos..].trim_start().strip_prefix(':')?.trim_start();
    if rest.starts_with('(') {
        let close = rest.find(')')?;
        Some(&rest[..=close])
    } else {
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        Some(&rest[..end])
    }
}

/// Decodes a whole `.npy` file.
pub fn read(bytes: &[u8]) -> Result<NpyArray, String> {
    let h = parse_header(bytes)?;
    let (rows, cols) = match h.shape.as_slice() {
        [r, c] => (*r, *c),
        [r] => (*r, 1),
        s => return Err(format!("expected a 2-D array (rows × dimensions), found {} dimensions", s.len())),
    };
    let (size, little) = match h.descr.as_str() {
        "<f4" | "|f4" | "=f4" => (4, true),
        ">f4" => (4, false),
        "<f8" | "|f8" | "=f8" => (8, true),
        ">f8" => (8, false),
        other => return Err(format!("element type '{other}' is not supported; use float32 or float64")),
    };
    let count = rows.checked_mul(cols).ok_or("the shape is too large")?;
    let need = count.checked_mul(size).ok_or("the shape is too large")?;
    let data = &bytes[h.data_offset..];
    if data.len() < need {
        return Err(format!("the data is cut short: the header promises {need} bytes, the file has {}", data.len()));
    }
    let mut values: Vec<f32> = Vec::with_capacity(count);
    for chunk in data[..need].chunks_exact(size) {
        let v = if size == 4 {
            // `chunks_exact(4)` yields 4-byte slices.
            let b: [u8; 4] = [chunk[0], chunk[1], chunk[2], chunk[3]];
            if little { f32::from_le_bytes(b) } else { f32::from_be_bytes(b) }
        } else {
            let b: [u8; 8] = [chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]];
            #[expect(
                clippy::cast_possible_truncation,
                reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
            )]
            let v = if little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) } as f32;
            v
        };
        values.push(v);
    }
    if h.fortran_order && rows > 1 && cols > 1 {
        let mut t = vec![0.0f32; count];
        for c in 0..cols {
            for r in 0..rows {
                t[r * cols + c] = values[c * rows + r];
            }
        }
        values = t;
    }
    Ok(NpyArray { data: values, rows, cols, descr: h.descr, fortran_order: h.fortran_order })
}

/// The header of a version-1 `.npy` file for an array of `shape` with element type `descr`
/// (e.g. `<f4`), padded so the data starts on a 64-byte boundary; `None` if it would not fit
/// the version-1 header length.
#[must_use]
pub fn header(descr: &str, fortran_order: bool, shape: &[usize]) -> Option<Vec<u8>> {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    let shape_text = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let order = if fortran_order { "True" } else { "False" };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape_text}, }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let len = u16::try_from(dict.len()).ok()?;
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, fortran: bool, shape: &[usize], payload: &[u8]) -> Vec<u8> {
        let mut out = header(descr, fortran, shape).unwrap();
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn files_read_directly_equal_the_bytes_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let payload: Vec<u8> = (0..600u32).flat_map(|i| (i as f32 * 0.37 - 50.0).to_le_bytes()).collect();
        for (name, descr, fortran, shape) in [
            ("c.npy", "<f4", false, vec![100, 6]),
            ("one.npy", "<f4", false, vec![600]),
            ("f.npy", "<f4", true, vec![100, 6]),
            ("d.npy", "<f8", false, vec![100, 3]),
        ] {
            let bytes = npy(descr, fortran, &shape, &payload);
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).unwrap();
            let direct = read_file(&path).unwrap();
            let whole = read(&bytes).unwrap();
            assert_eq!((direct.rows, direct.cols), (whole.rows, whole.cols), "{name}");
            assert!(direct.data.iter().zip(&whole.data).all(|(a, b)| a.to_bits() == b.to_bits()), "{name}");
            std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
            assert!(matches!(read_file(&path), Err(ReadFileError::Format(m)) if m.contains("cut short")), "{name}");
        }
    }

    #[test]
    fn npy_reads_fortran_order_f64() {
        // 2×3 array [[1,2,3],[4,5,6]] stored column by column.
        let vals = [1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0];
        let payload: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let a = read(&npy("<f8", true, &[2, 3], &payload)).unwrap();
        assert_eq!((a.rows, a.cols), (2, 3));
        assert_eq!(a.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn npy_reads_big_endian_f32() {
        let payload: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|v| v.to_be_bytes()).collect();
        let a = read(&npy(">f4", false, &[1, 2], &payload)).unwrap();
        assert_eq!(a.data, vec![1.5, -2.0]);
    }

    #[test]
    fn npy_rejects_integer_arrays_and_short_data() {
        assert!(read(&npy("<i8", false, &[1, 2], &[0; 16])).unwrap_err().contains("not supported"));
        assert!(read(&npy("<f4", false, &[2, 2], &[0; 8])).unwrap_err().contains("cut short"));
        assert!(read(b"PK\x03\x04 not numpy").unwrap_err().contains("magic"));
    }
}
