//! Reads the HdrHistograms perf-gate puts in its report (V2 compressed, base64, µs) into
//! the points of HdrHistogram's percentile plot: x is `1 / (1 - quantile)` (so 90 %, 99 %,
//! 99.9 % are evenly spaced on a log axis), y is the latency in milliseconds.

use base64ct::Encoding as _;

/// The percentile curve of one encoded histogram; `None` when the text is not one.
pub(crate) fn percentile_curve(encoded: &str) -> Option<Vec<(f64, f64)>> {
    let bytes = base64ct::Base64::decode_vec(encoded.trim()).ok()?;
    let h: hdrhistogram::Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .ok()?;
    if h.is_empty() {
        return None;
    }
    let mut points: Vec<(f64, f64)> = Vec::new();
    // 5 ticks per halving of the distance to 100 %: ~60 points up to 99.9999 %.
    for v in h.iter_quantiles(5) {
        let q = v.quantile_iterated_to();
        if q >= 1.0 {
            break;
        }
        let x = 1.0 / (1.0 - q);
        let ms = h.highest_equivalent(v.value_iterated_to()) as f64 / 1000.0;
        if points.last().is_none_or(|(px, _)| x > *px) {
            points.push((x, ms));
        }
    }
    let max_ms = h.max() as f64 / 1000.0;
    let x_end = (h.len() as f64).max(10.0);
    points.push((x_end, max_ms));
    Some(points)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::Serializer as _;

    #[test]
    fn a_histogram_of_1_to_1000_ms_gives_its_median_and_max() {
        let mut h =
            hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("bounds");
        for ms in 1..=1000u64 {
            h.record(ms * 1000).expect("in range");
        }
        let mut bytes = Vec::new();
        hdrhistogram::serialization::V2DeflateSerializer::new()
            .serialize(&h, &mut bytes)
            .expect("serialize");
        let curve = percentile_curve(&base64ct::Base64::encode_string(&bytes)).expect("curve");
        let median = curve
            .iter()
            .find(|(x, _)| *x >= 2.0)
            .map(|p| p.1)
            .unwrap_or(0.0);
        assert!((495.0..=506.0).contains(&median), "{median}");
        assert!((curve.last().map(|p| p.1).unwrap_or(0.0) - 1000.0).abs() < 1.0);
        assert!(percentile_curve("not base64!").is_none());
    }
}
