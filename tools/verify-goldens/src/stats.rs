//! Owns the canary's statistics: a one-sided two-proportion z-test (from statrs's Normal)
//! and Fisher's exact test (statrs) on error counts, and Mann-Whitney U on histogram
//! buckets — computed on the binned counts with the tie correction, because expanding
//! millions of observations into samples for statrs's `mannwhitneyu` would cost memory and
//! time for the same number (a unit test holds the two equal on small samples).

use statrs::distribution::{ContinuousCDF, Normal};
use statrs::stats_tests::{Alternative, fishers_exact};

/// Below this many requests on either side Fisher's exact test is used, above it the
/// z-test (whose normal approximation is then accurate, and which stays cheap).
pub(crate) const FISHER_BELOW: u64 = 1000;

/// What a test found: its name, the one-sided p-value that the canary is worse.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub test: &'static str,
    pub p_value: f64,
}

fn upper_tail(z: f64) -> f64 {
    1.0 - Normal::standard().cdf(z)
}

/// One-sided (canary worse) test of error proportions: `errors` of `total` on each side.
pub(crate) fn errors_worse(canary: (u64, u64), baseline: (u64, u64)) -> Finding {
    let (ce, ct) = (canary.0.min(canary.1), canary.1);
    let (be, bt) = (baseline.0.min(baseline.1), baseline.1);
    if ct.min(bt) < FISHER_BELOW {
        // Table rows: canary, baseline; columns: errors, successes. "Greater": the
        // canary's odds of an error are higher.
        let p = fishers_exact(&[ce, ct - ce, be, bt - be], Alternative::Greater).unwrap_or(1.0);
        return Finding {
            test: "fisher_exact",
            p_value: p,
        };
    }
    Finding {
        test: "two_proportion_z",
        p_value: two_proportion_p(ce as f64, ct as f64, be as f64, bt as f64),
    }
}

/// The one-sided p-value that proportion 1 exceeds proportion 2 (pooled z-test).
pub(crate) fn two_proportion_p(x1: f64, n1: f64, x2: f64, n2: f64) -> f64 {
    if n1 <= 0.0 || n2 <= 0.0 {
        return 1.0;
    }
    let (p1, p2) = (x1 / n1, x2 / n2);
    let p = (x1 + x2) / (n1 + n2);
    let se = (p * (1.0 - p) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return if p1 > p2 { 0.0 } else { 1.0 };
    }
    upper_tail((p1 - p2) / se)
}

/// Mann-Whitney U of the canary against the baseline over the same ordered buckets
/// (counts per bucket, fastest first): U (pairs where the canary is slower, ties half), the
/// common-language effect size U / (n1 n2), and the one-sided p-value (canary slower),
/// normal approximation with tie and continuity correction.
pub(crate) fn mann_whitney_binned(canary: &[f64], baseline: &[f64]) -> Option<(f64, f64, f64)> {
    let n1: f64 = canary.iter().sum();
    let n2: f64 = baseline.iter().sum();
    if n1 <= 0.0 || n2 <= 0.0 || canary.len() != baseline.len() {
        return None;
    }
    let mut below = 0.0;
    let mut u = 0.0;
    let mut ties = 0.0;
    for (a, b) in canary.iter().zip(baseline) {
        u += a * (below + 0.5 * b);
        below += b;
        let t = a + b;
        ties += t * t * t - t;
    }
    let n = n1 + n2;
    let mean = n1 * n2 / 2.0;
    let var = n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    let effect = u / (n1 * n2);
    if var <= 0.0 {
        return Some((u, effect, 1.0));
    }
    let z = (u - mean - 0.5) / var.sqrt();
    Some((u, effect, upper_tail(z)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::stats_tests::mannwhitneyu::{MannWhitneyUMethod, mannwhitneyu};

    #[test]
    fn binned_mann_whitney_equals_statrs_on_the_samples() {
        // Bucket indexes as samples: canary mostly in slower buckets.
        let canary = [2.0, 3.0, 5.0, 9.0, 4.0];
        let baseline = [6.0, 7.0, 5.0, 2.0, 1.0];
        let expand = |c: &[f64]| -> Vec<u32> {
            c.iter()
                .enumerate()
                .flat_map(|(i, n)| std::iter::repeat_n(i as u32, *n as usize))
                .collect()
        };
        let (u, effect, p) = mann_whitney_binned(&canary, &baseline).expect("mw");
        let (su, sp) = mannwhitneyu(
            &expand(&canary),
            &expand(&baseline),
            MannWhitneyUMethod::AsymptoticInclContinuityCorrection,
            Alternative::Greater,
        )
        .expect("statrs");
        assert!((u - su).abs() < 1e-9, "U {u} vs statrs {su}");
        assert!((p - sp).abs() < 1e-9, "p {p} vs statrs {sp}");
        assert!(effect > 0.5 && p < 0.01);
        // Identical distributions: nothing to see.
        let (_, e, p) = mann_whitney_binned(&baseline, &baseline).expect("mw");
        assert!((e - 0.5).abs() < 1e-12 && p > 0.4);
    }

    #[test]
    fn a_ten_percent_canary_is_worse_than_a_tenth_of_a_percent_baseline() {
        let f = errors_worse((600, 6000), (6, 6000));
        assert_eq!(f.test, "two_proportion_z");
        assert!(f.p_value < 1e-6);
        let f = errors_worse((6, 6000), (6, 6000));
        assert!(f.p_value > 0.4);
        // Small counts: Fisher. 3 of 20 against 0 of 20 is not significant at 5 %.
        let f = errors_worse((3, 20), (0, 20));
        assert_eq!(f.test, "fisher_exact");
        assert!(f.p_value > 0.05 && f.p_value < 0.2, "{}", f.p_value);
    }

    #[test]
    fn the_z_test_matches_a_worked_example() {
        // 30 of 200 against 15 of 200: p1 0.15, p2 0.075, pooled 0.1125,
        // se = sqrt(0.1125 * 0.8875 * 0.01) = 0.031598; z = 2.3735; one-sided p = 0.00881.
        let p = two_proportion_p(30.0, 200.0, 15.0, 200.0);
        assert!((p - 0.00881).abs() < 5e-5, "{p}");
    }
}
