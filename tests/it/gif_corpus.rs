//! Upload corpus for GIF validation tests, generated in code (no binary files
//! are committed). Every item is `pub` so that any test module may use it.

use gif::{Encoder, Frame, Repeat};

/// Four-colour palette (black, red, green, blue) for the small test GIFs.
pub const PALETTE4: [u8; 12] = [0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255];

/// Side of the square frames of [`animated_gif`].
pub const ANIMATED_SIDE: u16 = 16;

/// Number of frames of [`animated_gif`].
pub const ANIMATED_FRAMES: usize = 3;

/// Deterministic xorshift pseudo-random bytes, so "random" images are reproducible.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Encodes the first `frames` frames of the animation used by [`animated_gif`].
pub fn animation(frames: usize) -> Vec<u8> {
    let side = ANIMATED_SIDE;
    let mut enc = Encoder::new(Vec::new(), side, side, &PALETTE4).expect("gif header");
    enc.set_repeat(Repeat::Infinite).expect("loop extension");
    for i in 0..frames {
        // Noise keeps the LZW data long enough to cut in its middle.
        let pixels: Vec<u8> =
            noise(i as u64 + 1, usize::from(side) * usize::from(side)).into_iter().map(|b| b % 4).collect();
        let mut frame = Frame::from_indexed_pixels(side, side, pixels, None);
        frame.delay = 10;
        enc.write_frame(&frame).expect("gif frame");
    }
    enc.into_inner().expect("gif trailer")
}

/// A valid 16×16 looping GIF of three frames.
pub fn animated_gif() -> Vec<u8> {
    animation(ANIMATED_FRAMES)
}

/// CRC-32 (ISO-HDLC, as used by PNG) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Appends a PNG chunk (length, type, data, CRC over type and data).
pub fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A minimal valid PNG: one black pixel, 8-bit greyscale.
pub fn png_bytes() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    // Width 1, height 1, depth 8, greyscale, deflate, adaptive filter, no interlace.
    png_chunk(&mut out, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
    // zlib stream: one stored block holding [filter 0, pixel 0], then Adler-32 (0x00020001).
    let idat = [0x78, 0x01, 0x01, 0x02, 0x00, 0xFD, 0xFF, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01];
    png_chunk(&mut out, b"IDAT", &idat);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A GIF signature followed by an HTML page instead of image data.
pub fn gif_magic_then_html() -> Vec<u8> {
    b"GIF89a<html><script>window.pwned=1</script></html>".to_vec()
}

/// A valid GIF with an HTML page appended after its trailer.
pub fn gif_with_html_appended() -> Vec<u8> {
    let mut out = animated_gif();
    out.extend_from_slice(b"<html><script>alert(1)</script></html>");
    out
}

/// [`animated_gif`] cut in the middle of its last frame's image data.
pub fn truncated_gif() -> Vec<u8> {
    let full = animated_gif();
    // Everything before the trailer of the shorter animation precedes the last frame.
    let last_frame_start = animation(ANIMATED_FRAMES - 1).len() - 1;
    let last_frame_len = full.len() - 1 - last_frame_start;
    full[..last_frame_start + last_frame_len / 2].to_vec()
}

/// A tiny, structurally complete GIF whose screen and frame claim 65535×65535.
pub fn huge_dimensions_gif() -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    // Logical screen 65535×65535, global table of 2 colours, background 0, aspect 0.
    out.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0, 0]);
    out.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    // Image descriptor at (0, 0), 65535×65535, no local table.
    out.extend_from_slice(&[0x2C, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0]);
    // LZW min code size 2; one sub-block with the 3-bit codes clear (4) and end (5).
    out.extend_from_slice(&[2, 1, 0b0010_1100, 0]);
    out.push(0x3B);
    out
}

/// A valid 1×1 GIF of `n` frames.
pub fn many_frames_gif(n: usize) -> Vec<u8> {
    let mut enc = Encoder::new(Vec::new(), 1, 1, &PALETTE4).expect("gif header");
    for i in 0..n {
        let frame = Frame::from_indexed_pixels(1, 1, vec![(i % 4) as u8], None);
        enc.write_frame(&frame).expect("gif frame");
    }
    enc.into_inner().expect("gif trailer")
}

/// A valid GIF larger than `min_bytes`: 1024×1024 frames of 256-colour noise,
/// which LZW cannot compress (~1.4 MB a frame; within the default limits up to ~250 MB).
pub fn oversize_gif(min_bytes: usize) -> Vec<u8> {
    const SIDE: u16 = 1024;
    let palette: Vec<u8> = (0..=255u8).flat_map(|i| [i, i.wrapping_mul(7), !i]).collect();
    let mut enc = Encoder::new(Vec::new(), SIDE, SIDE, &palette).expect("gif header");
    let mut seed = 1;
    // Add frames until the encoded data (plus its trailer) exceeds `min_bytes`.
    while enc.get_ref().len() < min_bytes {
        let pixels = noise(seed, usize::from(SIDE) * usize::from(SIDE));
        enc.write_frame(&Frame::from_indexed_pixels(SIDE, SIDE, pixels, None)).expect("gif frame");
        seed += 1;
    }
    enc.into_inner().expect("gif trailer")
}
