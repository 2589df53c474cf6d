//! Property tests of GIF validation: arbitrary bytes and mutated valid GIFs never panic and are never
//! accepted unless they are a GIF within the limits. What "within the limits" means is checked apart
//! from [`check`]: the accepted prefix is decoded again here with the `gif` crate, and its screen, frames
//! and pixels are counted. Valid GIFs built here are judged against an oracle of the documented rules.

use proptest::prelude::*;

use super::{check, GifError, GifLimits};

/// Beginnings of uploads: both signatures, and two that stop inside one.
const HEADS: &[&[u8]] = &[b"GIF89a", b"GIF87a", b"GIF8", b"GIF"];

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, ..ProptestConfig::default() }
}

/// One frame of a generated GIF: where it sits on the screen, and its own palette if any.
#[derive(Debug, Clone)]
struct FrameSpec {
    left: u16,
    top: u16,
    width: u16,
    height: u16,
    seed: u8,
    local_palette: bool,
    interlaced: bool,
}

/// A valid GIF to build: screen size, frames inside it, a looping extension or not.
#[derive(Debug, Clone)]
struct GifSpec {
    screen: (u16, u16),
    frames: Vec<FrameSpec>,
    looping: bool,
}

impl GifSpec {
    /// The GIF's bytes, written by the `gif` crate's encoder (an independent, standard writer).
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let palette = [0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 255];
            let mut enc = gif::Encoder::new(&mut out, self.screen.0, self.screen.1, &palette).unwrap();
            if self.looping {
                enc.set_repeat(gif::Repeat::Infinite).unwrap();
            }
            for f in &self.frames {
                let n = usize::from(f.width) * usize::from(f.height);
                let pixels: Vec<u8> = (0..n).map(|p| ((p + usize::from(f.seed)) % 4) as u8).collect();
                let mut frame = gif::Frame::from_indexed_pixels(f.width, f.height, pixels, None);
                (frame.left, frame.top, frame.interlaced) = (f.left, f.top, f.interlaced);
                if f.local_palette {
                    frame.palette = Some(vec![9, 9, 9, 200, 100, 50, 1, 2, 3, 4, 5, 6]);
                }
                enc.write_frame(&frame).unwrap();
            }
        }
        out
    }

    /// What `check` must answer under `limits`, by the documented rules in their order.
    fn expected(&self, limits: &GifLimits, len: usize) -> Result<usize, GifError> {
        let widest = self.frames.iter().map(|f| f.width).chain([self.screen.0]).max().unwrap();
        let tallest = self.frames.iter().map(|f| f.height).chain([self.screen.1]).max().unwrap();
        let pixels: u64 = self.frames.iter().map(|f| u64::from(f.width) * u64::from(f.height)).sum();
        if widest > limits.max_width || tallest > limits.max_height {
            Err(GifError::TooLarge)
        } else if self.frames.len() > limits.max_frames {
            Err(GifError::TooManyFrames)
        } else if pixels > limits.max_total_pixels {
            Err(GifError::TooManyPixels)
        } else {
            Ok(len)
        }
    }
}

/// A frame that fits a `w`×`h` screen.
fn frame_in(w: u16, h: u16) -> impl Strategy<Value = FrameSpec> {
    (0..w, 0..h).prop_flat_map(move |(left, top)| {
        (1..=w - left, 1..=h - top, any::<u8>(), any::<bool>(), any::<bool>()).prop_map(
            move |(width, height, seed, local_palette, interlaced)| FrameSpec {
                left,
                top,
                width,
                height,
                seed,
                local_palette,
                interlaced,
            },
        )
    })
}

/// Small valid GIFs: up to 12×12 pixels, 1–5 frames.
fn gif_spec() -> impl Strategy<Value = GifSpec> {
    (1u16..=12, 1u16..=12, any::<bool>()).prop_flat_map(|(w, h, looping)| {
        proptest::collection::vec(frame_in(w, h), 1..=5).prop_map(move |frames| GifSpec {
            screen: (w, h),
            frames,
            looping,
        })
    })
}

/// Limits around the sizes above, so every refusal is reached.
fn small_limits() -> impl Strategy<Value = GifLimits> {
    (1u16..=14, 1u16..=14, 1usize..=6, 1u64..=400).prop_map(|(max_width, max_height, max_frames, max_total_pixels)| {
        GifLimits { max_width, max_height, max_frames, max_total_pixels }
    })
}

/// One way to damage a file.
#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    Truncate(usize),
    /// A little-endian u16 written over two bytes: sizes and offsets of the screen and frames.
    Word(usize, u16),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), 1u8..=255).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), 1usize..16).prop_map(|(i, n)| Mutation::Remove(i, n)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), prop_oneof![any::<u16>(), Just(0u16), Just(u16::MAX), 2040u16..2060])
            .prop_map(|(i, w)| Mutation::Word(i, w)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let at = |i: usize| i % bytes.len();
    match m {
        Mutation::Set(i, b) => {
            let i = at(*i);
            bytes[i] = *b;
        }
        Mutation::Flip(i, b) => {
            let i = at(*i);
            bytes[i] ^= *b;
        }
        Mutation::Insert(i, more) => {
            let i = at(*i);
            bytes.splice(i..i, more.iter().copied());
        }
        Mutation::Remove(i, n) => {
            let i = at(*i);
            let end = (i + n).min(bytes.len());
            bytes.drain(i..end);
        }
        Mutation::Truncate(i) => {
            let i = at(*i);
            bytes.truncate(i);
        }
        Mutation::Word(i, w) => {
            let i = at(*i);
            for (k, b) in w.to_le_bytes().into_iter().enumerate() {
                if let Some(slot) = bytes.get_mut(i + k) {
                    *slot = b;
                }
            }
        }
    }
}

/// Re-checks an accepted upload from scratch: the kept prefix starts with a GIF signature, ends with the
/// trailer, and decodes completely with the `gif` crate within every limit.
fn assert_accepted_gif_within(bytes: &[u8], len: usize, limits: &GifLimits) -> Result<(), TestCaseError> {
    prop_assert!(len <= bytes.len());
    let gif = &bytes[..len];
    prop_assert!(gif.starts_with(b"GIF87a") || gif.starts_with(b"GIF89a"), "accepted without a GIF signature");
    prop_assert_eq!(gif.last(), Some(&0x3B), "the kept part ends with the trailer");
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    let mut decoder = options.read_info(gif).map_err(|e| TestCaseError::fail(format!("accepted, undecodable: {e}")))?;
    prop_assert!(decoder.width() <= limits.max_width && decoder.height() <= limits.max_height);
    let (mut frames, mut pixels) = (0usize, 0u64);
    while let Some(frame) = decoder.read_next_frame().map_err(|e| TestCaseError::fail(format!("bad frame: {e}")))? {
        prop_assert!(frame.width <= limits.max_width && frame.height <= limits.max_height);
        frames += 1;
        pixels += u64::from(frame.width) * u64::from(frame.height);
    }
    prop_assert!((1..=limits.max_frames).contains(&frames), "{} frames", frames);
    prop_assert!(pixels <= limits.max_total_pixels, "{} pixels", pixels);
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes_are_never_accepted_unless_a_whole_gif_within_the_limits(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..512),
            (proptest::sample::select(HEADS), proptest::collection::vec(any::<u8>(), 0..512))
                .prop_map(|(head, tail)| [head, &tail[..]].concat()),
        ],
    ) {
        let limits = GifLimits::default();
        // "Not a GIF" exactly when the upload does not begin like one of the two signatures.
        let head = &bytes[..bytes.len().min(6)];
        let begins_like_a_gif = !head.is_empty() && (b"GIF87a".starts_with(head) || b"GIF89a".starts_with(head));
        match check(&bytes, &limits) {
            Ok(len) => assert_accepted_gif_within(&bytes, len, &limits)?,
            Err(e) => prop_assert_eq!(e == GifError::NotAGif, !begins_like_a_gif, "{:?} for {:?}", e, head),
        }
    }

    #[test]
    fn a_valid_gif_is_judged_by_the_limits_in_their_documented_order(spec in gif_spec(), limits in small_limits()) {
        let bytes = spec.encode();
        prop_assert_eq!(check(&bytes, &limits), spec.expected(&limits, bytes.len()));
    }

    #[test]
    fn anything_after_the_trailer_is_left_out(spec in gif_spec(), junk in proptest::collection::vec(any::<u8>(), 0..64)) {
        let gif = spec.encode();
        let upload = [&gif[..], &junk[..]].concat();
        prop_assert_eq!(check(&upload, &GifLimits::default()), Ok(gif.len()));
    }

    #[test]
    fn a_mutated_gif_never_panics_and_is_only_accepted_within_the_limits(
        spec in gif_spec(),
        limits in prop_oneof![Just(GifLimits::default()), small_limits()],
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let mut bytes = spec.encode();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        if let Ok(len) = check(&bytes, &limits) {
            assert_accepted_gif_within(&bytes, len, &limits)?;
        }
    }

    #[test]
    fn a_declared_size_over_the_limit_is_refused_before_any_pixel_is_decoded(
        spec in gif_spec(),
        (wide, tall) in (2049u16..=u16::MAX, 2049u16..=u16::MAX),
        which in 0usize..3,
    ) {
        // The screen or the first frame claims a size a decoder would need gigabytes for; its data stays tiny.
        let mut bytes = spec.encode();
        // Past the header, the screen descriptor and its colour table, the first 0x2C introduces the first
        // frame (the encoder's extensions hold no such byte here).
        let palette = if bytes[10] & 0x80 != 0 { 3 << ((bytes[10] & 0x07) + 1) } else { 0 };
        let descriptor = 13 + palette + bytes[13 + palette..].iter().position(|&b| b == 0x2C).unwrap();
        let (at, value) = match which {
            0 => (6, wide),
            1 => (8, tall),
            _ => (descriptor + 5, wide),
        };
        bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
        prop_assert_eq!(check(&bytes, &GifLimits::default()), Err(GifError::TooLarge));
    }
}
