//! Decoding parameter values: the small, total functions every consumer of raw parameters needs.
//!
//! Values are little-endian. Shorter values than expected are zero-extended (unsigned) or
//! sign-extended from their width (signed) rather than rejected, so a damaged or unexpected
//! parameter never panics a consumer.

/// Copies up to `N` bytes into an array, zero-filling the rest.
#[inline]
pub fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    // The usual case, a value of the full width, is one fixed-size load; the copy of a length
    // known only at run time below is a call to `memcpy` (the state decoded its fds and
    // counters through it: 560 thousand calls per million events of the bench capture).
    if let Some(a) = bytes.first_chunk::<N>() {
        return *a;
    }
    let mut a = [0; N];
    let n = bytes.len().min(N);
    a[..n].copy_from_slice(&bytes[..n]);
    a
}

/// An unsigned integer of up to 8 bytes.
#[inline]
pub fn uint(bytes: &[u8]) -> u64 {
    // The widths parameters have, each one load (see `array`).
    match bytes.len() {
        8.. => u64::from_le_bytes(array::<8>(bytes)),
        4 => u64::from(u32::from_le_bytes(array::<4>(bytes))),
        2 => u64::from(u16::from_le_bytes(array::<2>(bytes))),
        _ => u64::from_le_bytes(array::<8>(bytes)),
    }
}

/// A signed integer, sign-extended from its width (1, 2, 4 or 8 bytes).
#[inline]
pub fn int(bytes: &[u8]) -> i64 {
    match bytes.len() {
        1 => i64::from(bytes[0] as i8),
        2 => i64::from(i16::from_le_bytes([bytes[0], bytes[1]])),
        3 | 4 => i64::from(i32::from_le_bytes(array::<4>(bytes))),
        _ => uint(bytes) as i64,
    }
}

/// The bytes of a C string parameter, up to its NUL (or all of them if there is none).
pub fn cstr(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(end) => &bytes[..end],
        None => bytes,
    }
}

/// The NUL-separated items of a buffer such as `args`, `env` or `cgroups` (`a\0b\0` → `a`, `b`).
/// A trailing NUL does not make an empty last item.
pub fn nul_separated(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let trimmed = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    trimmed.split(|&b| b == 0).filter(move |_| !trimmed.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes() {
        assert_eq!(int(&(-5i64).to_le_bytes()), -5);
        assert_eq!(int(&(-5i32).to_le_bytes()), -5);
        assert_eq!(uint(&[1, 2]), 0x201);
        // Every width zero-extends; more than 8 bytes read the first 8.
        assert_eq!(uint(&[]), 0);
        assert_eq!(uint(&[0xff]), 0xff);
        assert_eq!(uint(&[1, 2, 3]), 0x03_0201);
        assert_eq!(uint(&0xffff_fffeu32.to_le_bytes()), 0xffff_fffe);
        assert_eq!(uint(&[1, 2, 3, 4, 5]), 0x05_0403_0201);
        assert_eq!(uint(&u64::MAX.to_le_bytes()), u64::MAX);
        assert_eq!(uint(&[1, 0, 0, 0, 0, 0, 0, 0, 9]), 1);
        assert_eq!(array::<4>(&[1, 2]), [1, 2, 0, 0]);
        assert_eq!(array::<2>(&[1, 2, 3]), [1, 2]);
        assert_eq!(cstr(b"abc\0def"), b"abc");
        assert_eq!(nul_separated(b"a\0bc\0").collect::<Vec<_>>(), [&b"a"[..], b"bc"]);
        assert_eq!(nul_separated(b"").count(), 0);
        assert_eq!(nul_separated(b"x").collect::<Vec<_>>(), [&b"x"[..]]);
    }
}
