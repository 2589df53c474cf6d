//! Validation of uploaded GIF images, in two passes: a cheap structural walk
//! over the GIF block grammar (finds the trailer, counts frames and pixels and
//! enforces [`GifLimits`] without touching pixel data), then a full decode of
//! every frame with the `gif` crate so that corrupt LZW data is refused too.
//! [`check`] returns the length of the GIF proper so callers can drop anything
//! appended after the trailer (a common way to smuggle HTML into an "image").

use std::num::NonZeroU64;

/// Limits for uploaded GIFs.
#[derive(Debug, Clone, Copy)]
pub struct GifLimits {
    /// Largest accepted width, in pixels, of the logical screen and of each frame.
    pub max_width: u16,
    /// Largest accepted height, in pixels, of the logical screen and of each frame.
    pub max_height: u16,
    /// Largest accepted number of frames (image descriptors).
    pub max_frames: usize,
    /// Largest accepted sum, over all frames, of frame width × frame height.
    pub max_total_pixels: u64,
}

impl Default for GifLimits {
    /// 2048 × 2048 pixels, 1000 frames, 200 million pixels in total.
    fn default() -> Self {
        Self { max_width: 2048, max_height: 2048, max_frames: 1000, max_total_pixels: 200_000_000 }
    }
}

/// Why an upload was refused as a GIF.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GifError {
    /// The data does not start with a GIF signature.
    #[error("the file is not a GIF image")]
    NotAGif,
    /// The data ends before the GIF does.
    #[error("the GIF file is incomplete")]
    Truncated,
    /// The data is not a well-formed GIF (bad block, bad image data, ...).
    #[error("the GIF file is damaged or invalid")]
    Malformed,
    /// The image or one of its frames is wider or taller than allowed.
    #[error("the GIF image is too large")]
    TooLarge,
    /// The animation has more frames than allowed.
    #[error("the GIF animation has too many frames")]
    TooManyFrames,
    /// The frames together hold more pixels than allowed.
    #[error("the GIF animation contains too many pixels in total")]
    TooManyPixels,
}

impl GifError {
    /// A stable, lowercase, machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAGif => "not_a_gif",
            Self::Truncated => "truncated",
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
            Self::TooManyFrames => "too_many_frames",
            Self::TooManyPixels => "too_many_pixels",
        }
    }
}

/// Checks `bytes` decode completely as a GIF within `limits`; returns the
/// length of the GIF proper (up to and including the 0x3B trailer), so
/// anything appended after the trailer can be dropped.
pub fn check(bytes: &[u8], limits: &GifLimits) -> Result<usize, GifError> {
    // The walk settles structure and limits before anything is allocated.
    let shape = walk(bytes)?;
    shape.enforce(limits)?;
    // Only then is the GIF proper (without any trailing junk) decoded.
    decode_all(&bytes[..shape.end], limits, shape.frames)?;
    Ok(shape.end)
}

/// What the structural walk learnt about a GIF.
#[derive(Debug, Default)]
struct Shape {
    /// Offset just past the trailer byte.
    end: usize,
    /// Logical screen size.
    screen: (u16, u16),
    /// Largest frame width and height seen (not necessarily the same frame).
    max_frame: (u16, u16),
    /// Number of image descriptors.
    frames: usize,
    /// Sum of width × height over all frames.
    pixels: u64,
}

impl Shape {
    /// Refuses a structurally sound GIF that exceeds `limits`.
    fn enforce(&self, limits: &GifLimits) -> Result<(), GifError> {
        let too_wide = self.screen.0.max(self.max_frame.0) > limits.max_width;
        let too_tall = self.screen.1.max(self.max_frame.1) > limits.max_height;
        if too_wide || too_tall {
            return Err(GifError::TooLarge);
        }
        if self.frames > limits.max_frames {
            return Err(GifError::TooManyFrames);
        }
        if self.pixels > limits.max_total_pixels {
            return Err(GifError::TooManyPixels);
        }
        Ok(())
    }
}

/// A read position in the upload; running off the end means truncation.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// Takes the next `n` bytes.
    fn take(&mut self, n: usize) -> Result<&'a [u8], GifError> {
        let rest = &self.bytes[self.pos..];
        let out = rest.get(..n).ok_or(GifError::Truncated)?;
        self.pos += n;
        Ok(out)
    }

    /// Takes one byte.
    fn byte(&mut self) -> Result<u8, GifError> {
        Ok(self.take(1)?[0])
    }

    /// Takes a little-endian u16, the GIF integer format.
    fn u16(&mut self) -> Result<u16, GifError> {
        Ok(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }

    /// Skips a colour table of 2^(size+1) RGB entries if `flags` has one.
    fn colour_table(&mut self, flags: u8) -> Result<(), GifError> {
        if flags & 0x80 != 0 {
            self.take(3 << ((flags & 0x07) + 1))?;
        }
        Ok(())
    }

    /// Skips data sub-blocks (length byte + data) up to the empty terminator.
    fn sub_blocks(&mut self) -> Result<(), GifError> {
        loop {
            match self.byte()? {
                0 => return Ok(()),
                len => self.take(usize::from(len))?,
            };
        }
    }
}

/// Walks the GIF block grammar without decoding pixel data.
fn walk(bytes: &[u8]) -> Result<Shape, GifError> {
    const SIGNATURES: [&[u8]; 2] = [b"GIF87a", b"GIF89a"];
    let head = &bytes[..bytes.len().min(6)];
    if !SIGNATURES.iter().any(|sig| sig.starts_with(head)) || head.is_empty() {
        return Err(GifError::NotAGif);
    }
    // A non-empty prefix of a signature is a GIF that was cut short.
    if head.len() < 6 {
        return Err(GifError::Truncated);
    }
    let mut cur = Cursor { bytes, pos: 6 };
    // Logical screen descriptor: width, height, flags, background, aspect.
    let screen = (cur.u16()?, cur.u16()?);
    let flags = cur.byte()?;
    cur.take(2)?;
    cur.colour_table(flags)?;
    let mut shape = Shape { screen, ..Shape::default() };
    loop {
        match cur.byte()? {
            // Extension: label, then data sub-blocks (contents left to the decoder).
            0x21 => {
                cur.byte()?;
                cur.sub_blocks()?;
            }
            // Image descriptor: left, top, width, height, flags.
            0x2C => {
                cur.take(4)?;
                let (w, h) = (cur.u16()?, cur.u16()?);
                let flags = cur.byte()?;
                cur.colour_table(flags)?;
                // LZW minimum code size, then the compressed data.
                cur.byte()?;
                cur.sub_blocks()?;
                shape.frames += 1;
                shape.pixels = shape.pixels.saturating_add(u64::from(w) * u64::from(h));
                shape.max_frame = (shape.max_frame.0.max(w), shape.max_frame.1.max(h));
            }
            0x3B => break,
            _ => return Err(GifError::Malformed),
        }
    }
    // An image without a single frame shows nothing: refuse it.
    if shape.frames == 0 {
        return Err(GifError::Malformed);
    }
    shape.end = cur.pos;
    Ok(shape)
}

/// Decodes every frame of `gif` (which ends with its trailer) with the `gif`
/// crate, so that corrupt image data is refused.
fn decode_all(gif: &[u8], limits: &GifLimits, frames: usize) -> Result<(), GifError> {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    // Frames must lie inside the logical screen, which the walk bounded.
    options.check_frame_consistency(true);
    // One byte per pixel: the largest frame allowed needs max_width × max_height.
    let frame_bytes = u64::from(limits.max_width) * u64::from(limits.max_height);
    let limit = NonZeroU64::new(frame_bytes).unwrap_or(NonZeroU64::MIN);
    options.set_memory_limit(gif::MemoryLimit::Bytes(limit));
    let mut decoder = options.read_info(gif).map_err(decode_error)?;
    // One buffer, grown to the largest frame, is reused for all frames.
    let mut buffer = Vec::new();
    let mut decoded = 0;
    while decoder.next_frame_info().map_err(decode_error)?.is_some() {
        buffer.resize(decoder.buffer_size(), 0);
        decoder.read_into_buffer(&mut buffer).map_err(decode_error)?;
        decoded += 1;
    }
    // The decoder and the walk must agree on what the file holds.
    if decoded != frames {
        return Err(GifError::Malformed);
    }
    Ok(())
}

/// Maps a `gif` crate error onto the user-facing [`GifError`].
fn decode_error(err: gif::DecodingError) -> GifError {
    match err {
        // The walk ensured the data is complete, but map EOF faithfully anyway.
        gif::DecodingError::UnexpectedEof => GifError::Truncated,
        // Only oversized metadata can hit the limit once dimensions are bounded.
        gif::DecodingError::MemoryLimit | gif::DecodingError::OutOfMemory => GifError::TooLarge,
        _ => GifError::Malformed,
    }
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes a `w`×`h` GIF of `frames` frames with a two-colour palette.
    fn tiny_gif(w: u16, h: u16, frames: usize) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = gif::Encoder::new(&mut out, w, h, &[0, 0, 0, 255, 255, 255]).unwrap();
            for i in 0..frames {
                let pixels: Vec<u8> = (0..usize::from(w) * usize::from(h)).map(|p| ((p + i) % 2) as u8).collect();
                enc.write_frame(&gif::Frame::from_indexed_pixels(w, h, pixels, None)).unwrap();
            }
        }
        out
    }

    /// Offset of the first image descriptor in a GIF made by `tiny_gif`.
    fn first_frame(gif: &[u8]) -> usize {
        gif.iter().position(|&b| b == 0x2C).unwrap()
    }

    #[test]
    fn a_small_valid_gif_is_accepted_whole() {
        let gif = tiny_gif(4, 4, 2);
        assert_eq!(check(&gif, &GifLimits::default()), Ok(gif.len()));
    }

    #[test]
    fn junk_after_the_trailer_is_excluded_from_the_length() {
        let gif = tiny_gif(4, 4, 1);
        let mut upload = gif.clone();
        upload.extend_from_slice(b"<script>alert(1)</script>");
        assert_eq!(check(&upload, &GifLimits::default()), Ok(gif.len()));
    }

    #[test]
    fn a_png_renamed_gif_is_not_a_gif() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(check(png, &GifLimits::default()), Err(GifError::NotAGif));
    }

    #[test]
    fn an_empty_file_is_not_a_gif() {
        assert_eq!(check(b"", &GifLimits::default()), Err(GifError::NotAGif));
    }

    #[test]
    fn a_cut_signature_is_truncated() {
        assert_eq!(check(b"GIF8", &GifLimits::default()), Err(GifError::Truncated));
    }

    #[test]
    fn every_proper_prefix_of_a_gif_is_refused() {
        let gif = tiny_gif(3, 3, 2);
        for len in 0..gif.len() {
            assert!(check(&gif[..len], &GifLimits::default()).is_err(), "prefix {len} accepted");
        }
    }

    #[test]
    fn a_gif_signature_followed_by_html_is_malformed() {
        let html = b"GIF89a<html><script>window.pwned=1</script></html>";
        assert_eq!(check(html, &GifLimits::default()), Err(GifError::Malformed));
    }

    #[test]
    fn a_gif_without_frames_is_malformed() {
        let gif = tiny_gif(2, 2, 0);
        assert_eq!(check(&gif, &GifLimits::default()), Err(GifError::Malformed));
    }

    #[test]
    fn an_unknown_block_is_malformed() {
        let mut gif = tiny_gif(2, 2, 1);
        let at = first_frame(&gif);
        gif[at] = 0x99;
        assert_eq!(check(&gif, &GifLimits::default()), Err(GifError::Malformed));
    }

    #[test]
    fn corrupt_lzw_data_is_malformed() {
        let mut gif = tiny_gif(8, 8, 1);
        // Descriptor (10 bytes), min code size, then the first sub-block's length.
        let data = first_frame(&gif) + 10 + 1;
        let len = usize::from(gif[data]);
        gif[data + 1..data + 1 + len].fill(0xFF);
        assert_eq!(check(&gif, &GifLimits::default()), Err(GifError::Malformed));
    }

    #[test]
    fn a_frame_outside_the_screen_is_malformed() {
        let mut gif = tiny_gif(2, 2, 1);
        // Move the frame's left edge (first descriptor field) off screen.
        let at = first_frame(&gif) + 1;
        gif[at] = 5;
        assert_eq!(check(&gif, &GifLimits::default()), Err(GifError::Malformed));
    }

    #[test]
    fn a_screen_wider_than_the_limit_is_too_large() {
        let gif = tiny_gif(4, 4, 1);
        let limits = GifLimits { max_width: 3, ..GifLimits::default() };
        assert_eq!(check(&gif, &limits), Err(GifError::TooLarge));
    }

    #[test]
    fn a_frame_taller_than_the_limit_is_too_large() {
        let mut gif = tiny_gif(2, 2, 1);
        // Frame height is at descriptor offset 7..9; screen stays 2x2.
        let at = first_frame(&gif) + 7;
        gif[at..at + 2].copy_from_slice(&60000u16.to_le_bytes());
        assert_eq!(check(&gif, &GifLimits::default()), Err(GifError::TooLarge));
    }

    #[test]
    fn more_frames_than_allowed_is_too_many_frames() {
        let gif = tiny_gif(1, 1, 4);
        let limits = GifLimits { max_frames: 3, ..GifLimits::default() };
        assert_eq!(check(&gif, &limits), Err(GifError::TooManyFrames));
    }

    #[test]
    fn more_pixels_than_allowed_is_too_many_pixels() {
        let gif = tiny_gif(4, 4, 3);
        let limits = GifLimits { max_total_pixels: 47, ..GifLimits::default() };
        assert_eq!(check(&gif, &limits), Err(GifError::TooManyPixels));
        let limits = GifLimits { max_total_pixels: 48, ..GifLimits::default() };
        assert_eq!(check(&gif, &limits), Ok(gif.len()));
    }

    #[test]
    fn error_codes_are_stable_and_messages_readable() {
        assert_eq!(GifError::NotAGif.code(), "not_a_gif");
        assert_eq!(GifError::TooManyPixels.code(), "too_many_pixels");
        assert_eq!(GifError::Truncated.to_string(), "the GIF file is incomplete");
    }
}
