//! Multi-scalar multiplication `Σ sᵢ·Pᵢ` over affine bases, for the prover's proving-key
//! queries (about 8k–35k points, G1 and G2).
//!
//! Pippenger's bucket method, with four changes against `ark_ec`'s `msm_bigint`:
//! - each scalar `s` above `r/2` is replaced by `r − s` on the negated base, and split into
//!   signed digits in `[−2^(c−1), 2^(c−1)]`, so a window has `2^(c−1)` buckets (half) and the
//!   many small and small-negative witness values touch only the low windows;
//! - a window's buckets are filled with affine additions: its points are sorted by bucket and
//!   summed pairwise in rounds, every addition of a round sharing one field inversion
//!   (Montgomery's trick), about 6 multiplications an addition against 10 for a mixed one;
//!   in G2 the batch inverts the denominators' norms in `Fq` ([`BatchInvert`]); on a CPU
//!   with AVX-512 IFMA (Intel since Ice Lake, AMD since Zen 4) a round's additions run
//!   eight at once, in G1 and G2 (`ifma`), chosen at run time;
//! - the window size comes from a cost model of those two steps rather than from `ln n`;
//! - [`msm_sum`] takes several (bases, scalars) lists as one: a proof's C is one sum of
//!   three queries, and one MSM of all their points needs fewer additions than three.
//!
//! Windows are independent rayon tasks, so a call spreads over the cores it finds idle.

use ark_ec::{
    short_weierstrass::{Affine, Projective, SWCurveConfig},
    AffineRepr,
};
use ark_ff::{AdditiveGroup, BigInteger, Field, PrimeField, Zero};
use rayon::prelude::*;
use zeroize::Zeroizing;

#[cfg(target_arch = "x86_64")]
mod ifma;

type BigInt<P> = <<P as ark_ec::CurveConfig>::ScalarField as PrimeField>::BigInt;

/// Field multiplications (of the base field) an affine bucket addition costs, and what a
/// bucket costs in the running sum that weights the buckets (a mixed and a full projective
/// addition): the window size minimises `windows · (points · ADD + buckets · BUCKET)`.
const ADD_COST: usize = 6;
const BUCKET_COST: usize = 27;

/// `Σ scalars[i]·bases[i]` over the first `min(bases.len(), scalars.len())` pairs (as
/// `ark_ec`'s `msm_bigint`). Scalars may be any integers of the width; those between `r/2`
/// and `r` (negative field elements) are recoded as negatives. Points at infinity and zero
/// scalars cost nothing.
pub fn msm<P>(bases: &[Affine<P>], scalars: &[BigInt<P>]) -> Projective<P>
where
    P: SWCurveConfig,
    P::BaseField: BatchInvert,
{
    msm_sum(&[(bases, scalars)])
}

/// Bases and their scalars, one of the lists [`msm_sum`] adds up.
pub type Part<'a, P> = (&'a [Affine<P>], &'a [BigInt<P>]);

/// `Σ msm(bases, scalars)` over `parts`, as one MSM of all their terms.
pub fn msm_sum<P>(parts: &[Part<'_, P>]) -> Projective<P>
where
    P: SWCurveConfig,
    P::BaseField: BatchInvert,
{
    let mut terms: Vec<(&Affine<P>, &BigInt<P>)> =
        Vec::with_capacity(parts.iter().map(|(b, s)| b.len().min(s.len())).sum());
    for (bases, scalars) in parts {
        terms.extend(
            bases
                .iter()
                .zip(*scalars)
                .filter(|(base, scalar)| !base.is_zero() && !scalar.is_zero()),
        );
    }
    let Some(max_bits) = max_bits::<P, _>(&terms) else {
        return Projective::zero();
    };
    let c = window_bits(terms.len(), max_bits);
    // One more window than the bits need, for the carry out of the top digit.
    let windows = max_bits / c + 1;
    let digits = digits::<P, _>(&terms, c, windows);
    let window_sums: Vec<Projective<P>> = (0..windows)
        .into_par_iter()
        .map(|w| {
            let window_digits = digits.iter().skip(w).step_by(windows).copied();
            window_sum(terms.iter().map(|t| t.0).zip(window_digits), c)
        })
        .collect();
    window_sums
        .iter()
        .rev()
        .fold(Projective::zero(), |mut acc, sum| {
            for _ in 0..c {
                acc.double_in_place();
            }
            acc + sum
        })
}

/// The multiples `2^(c·j)·P` of fixed bases `P`, for every window `j` of a scalar's signed
/// digits. An MSM over them ([`FixedBases::msm`]) adds each digit's multiple into one set of
/// buckets shared by all windows: no doublings, and one weighing of the buckets instead of
/// one a window, so the windows can be wider (C's 34,845 bases: 20 windows instead of 24;
/// G1 16,384 points 70 → 60 ms, G2 7,919 96 → 73 ms on one thread), for the bases held
/// `windows` times over (80 MB for a claim's key): worth it in a process that proves
/// again and again.
pub struct FixedBases<P: SWCurveConfig> {
    c: usize,
    /// `tables[j][i] = 2^(c·j)·bases[i]`.
    tables: Vec<Vec<Affine<P>>>,
}

impl<P> FixedBases<P>
where
    P: SWCurveConfig,
    P::BaseField: BatchInvert,
{
    /// The tables of `bases`, for MSMs spread over `groups` sets of buckets (the cores
    /// they will run on).
    pub fn new(bases: &[Affine<P>], groups: usize) -> Self {
        let bits = P::ScalarField::MODULUS_BIT_SIZE as usize;
        let c = (2..=18)
            .min_by_key(|&c| {
                (bits / c + 1) * bases.len() * ADD_COST + groups * (1 << (c - 1)) * BUCKET_COST
            })
            .expect("a non-empty range");
        let mut tables = vec![bases.to_vec()];
        for _ in 0..bits / c {
            let mut next = tables.last().expect("one table at least").clone();
            next.par_chunks_mut(4096).for_each(|chunk| {
                let (mut inverses, mut scratch) = (Vec::new(), Default::default());
                for _ in 0..c {
                    double_all(chunk, &mut inverses, &mut scratch);
                }
            });
            tables.push(next);
        }
        Self { c, tables }
    }

    /// The memory the tables take.
    pub fn bytes(&self) -> usize {
        self.tables.iter().map(Vec::len).sum::<usize>() * size_of::<Affine<P>>()
    }

    /// `Σ scalars[i]·bases[i]`, as [`msm`] (which it calls for scalars wider than the
    /// tables' windows, at or above `r`).
    pub fn msm(&self, scalars: &[BigInt<P>]) -> Projective<P> {
        let bases = &self.tables[0];
        let mut terms: Vec<(usize, &BigInt<P>)> =
            Vec::with_capacity(bases.len().min(scalars.len()));
        terms.extend(
            bases
                .iter()
                .zip(scalars)
                .enumerate()
                .filter(|(_, (base, scalar))| !base.is_zero() && !scalar.is_zero())
                .map(|(i, (_, scalar))| (i, scalar)),
        );
        let Some(max_bits) = max_bits::<P, _>(&terms) else {
            return Projective::zero();
        };
        let c = self.c;
        let windows = max_bits / c + 1;
        if windows > self.tables.len() {
            return msm(bases, scalars);
        }
        let digits = digits::<P, _>(&terms, c, windows);
        // The windows in as many groups as there are threads, each with its buckets.
        let groups = rayon::current_num_threads().clamp(1, windows);
        (0..groups)
            .into_par_iter()
            .map(|g| {
                let mut buckets = vec![Affine::<P>::identity(); (1 << (c - 1)) + 1];
                for w in (g..windows).step_by(groups) {
                    let table = &self.tables[w];
                    let window_digits = digits.iter().skip(w).step_by(windows).copied();
                    accumulate(
                        &mut buckets,
                        terms.iter().map(|(i, _)| &table[*i]).zip(window_digits),
                        c,
                    );
                }
                weigh(&buckets)
            })
            .sum()
    }
}

/// Doubles each point, one inversion for all.
fn double_all<P>(
    points: &mut [Affine<P>],
    inverses: &mut Vec<P::BaseField>,
    scratch: &mut <P::BaseField as BatchInvert>::Scratch,
) where
    P: SWCurveConfig,
    P::BaseField: BatchInvert,
{
    inverses.clear();
    inverses.extend(points.iter().map(|p| denominator(p, p)));
    P::BaseField::batch_invert(inverses, scratch);
    for (p, inverse) in points.iter_mut().zip(inverses.iter()) {
        *p = add(p, p, inverse);
    }
}

/// The widest of the terms' scalars once recoded ([`signed_magnitude`]), in bits; `None`
/// without terms.
fn max_bits<P: SWCurveConfig, T: Sync>(terms: &[(T, &BigInt<P>)]) -> Option<usize> {
    terms
        .par_iter()
        .map(|(_, s)| signed_magnitude::<P>(s).0.num_bits() as usize)
        .max()
}

/// Each term's `windows` signed digits of `c` bits ([`signed_digits`]), term after term.
/// They are the scalars, rewritten: wiped when dropped.
fn digits<P: SWCurveConfig, T: Sync>(
    terms: &[(T, &BigInt<P>)],
    c: usize,
    windows: usize,
) -> Zeroizing<Vec<i32>> {
    let mut digits = Zeroizing::new(vec![0i32; terms.len() * windows]);
    digits
        .par_chunks_mut(windows)
        .zip(terms)
        .for_each(|(digits, (_, scalar))| {
            let (magnitude, negated) = signed_magnitude::<P>(scalar);
            signed_digits(&magnitude, negated, c, digits)
        });
    digits
}

/// `(s, false)` for `s ≤ r/2`, else `(r − s, true)`: `s·P = (r − s)·(−P)`.
fn signed_magnitude<P: SWCurveConfig>(scalar: &BigInt<P>) -> (BigInt<P>, bool) {
    let modulus = P::ScalarField::MODULUS;
    if *scalar > P::ScalarField::MODULUS_MINUS_ONE_DIV_TWO && *scalar < modulus {
        let mut negated = modulus;
        negated.sub_with_borrow(scalar);
        (negated, true)
    } else {
        (*scalar, false)
    }
}

/// The window size (in bits) that minimises the cost model for `points` scalars of at most
/// `max_bits` bits.
fn window_bits(points: usize, max_bits: usize) -> usize {
    (2..=16)
        .min_by_key(|&c| (max_bits / c + 1) * (points * ADD_COST + (1 << (c - 1)) * BUCKET_COST))
        .expect("a non-empty range")
}

/// The signed base-`2^c` digits of `±magnitude` (negative when `negated`), low first, each in
/// `[−2^(c−1), 2^(c−1)]`; `digits` has room for one window above the top bit.
fn signed_digits(magnitude: &impl BigInteger, negated: bool, c: usize, digits: &mut [i32]) {
    let limbs = magnitude.as_ref();
    let half = 1i64 << (c - 1);
    let mut carry = 0i64;
    for (w, digit) in digits.iter_mut().enumerate() {
        let raw = bits(limbs, w * c, c) as i64 + carry;
        carry = (raw > half) as i64;
        let value = raw - (carry << c);
        *digit = if negated { -value } else { value } as i32;
    }
    debug_assert_eq!(carry, 0, "the top window absorbs the last carry");
}

/// The `c` bits of `limbs` (little-endian) from bit `offset` on; 0 past the end.
fn bits(limbs: &[u64], offset: usize, c: usize) -> u64 {
    let (limb, shift) = (offset / 64, offset % 64);
    let Some(low) = limbs.get(limb) else {
        return 0;
    };
    let mut value = low >> shift;
    if shift + c > 64 {
        if let Some(high) = limbs.get(limb + 1) {
            value |= high << (64 - shift);
        }
    }
    value & ((1 << c) - 1)
}

/// `Σ_b b·(Σ of the points whose digit is ±b)` for one window, given each term's base and
/// digit in this window.
fn window_sum<'a, P>(
    terms: impl Iterator<Item = (&'a Affine<P>, i32)> + Clone,
    c: usize,
) -> Projective<P>
where
    P: SWCurveConfig,
    P::BaseField: BatchInvert,
{
    let mut buckets = vec![Affine::<P>::identity(); (1 << (c - 1)) + 1];
    accumulate(&mut buckets, terms, c);
    weigh(&buckets)
}

/// Adds each term's base (negated for a negative digit) into the bucket of its digit's
/// magnitude: `buckets[b]` gains the points whose digit is `±b` (`buckets[0]` is unused).
fn accumulate<'a, P>(
    buckets: &mut [Affine<P>],
    terms: impl Iterator<Item = (&'a Affine<P>, i32)> + Clone,
    c: usize,
) where
    P: SWCurveConfig,
    P::BaseField: BatchInvert,
{
    let half = 1usize << (c - 1);
    // Counting sort by bucket, each bucket's sum so far first: bucket b holds
    // points[starts[b]..starts[b + 1]].
    let mut starts = vec![0u32; half + 2];
    for b in 1..=half {
        starts[b + 1] = !buckets[b].is_zero() as u32;
    }
    for (_, digit) in terms.clone() {
        if digit != 0 {
            starts[digit.unsigned_abs() as usize + 1] += 1;
        }
    }
    for b in 1..starts.len() {
        starts[b] += starts[b - 1];
    }
    let mut next = starts.clone();
    let mut points = vec![Affine::<P>::identity(); starts[half + 1] as usize];
    for b in 1..=half {
        if !buckets[b].is_zero() {
            points[next[b] as usize] = buckets[b];
            next[b] += 1;
        }
    }
    for (base, digit) in terms {
        if digit != 0 {
            let slot = &mut next[digit.unsigned_abs() as usize];
            points[*slot as usize] = if digit < 0 { -*base } else { *base };
            *slot += 1;
        }
    }
    let mut lens: Vec<u32> = starts.windows(2).map(|s| s[1] - s[0]).collect();
    sum_buckets(&mut points, &starts, &mut lens);
    for b in 1..=half {
        buckets[b] = match lens[b] {
            1 => points[starts[b] as usize],
            _ => Affine::identity(),
        };
    }
}

/// `Σ_b b·buckets[b]`, by a running sum from the top bucket down.
fn weigh<P: SWCurveConfig>(buckets: &[Affine<P>]) -> Projective<P> {
    let mut running = Projective::<P>::zero();
    let mut sum = Projective::<P>::zero();
    for bucket in buckets[1..].iter().rev() {
        running += bucket;
        sum += running;
    }
    sum
}

/// Sums each bucket `points[starts[b]..starts[b] + lens[b]]` into its first point, in rounds
/// of pairwise affine additions that share one inversion; `lens[b]` ends 0 or 1. A round
/// runs in batches of at most [`BATCH`] additions, a bucket's split between batches where it
/// has more: its buffers, `Fq2`'s lanes included, stay under a megabyte however the scalars
/// fall (a witness's many bits put thousands of points in one bucket).
fn sum_buckets<P>(points: &mut [Affine<P>], starts: &[u32], lens: &mut [u32])
where
    P: SWCurveConfig,
    P::BaseField: BatchInvert,
{
    let mut active: Vec<usize> = (0..lens.len()).filter(|&b| lens[b] >= 2).collect();
    let mut buffers = Buffers::new(BATCH);
    let mut segments = Vec::new();
    while !active.is_empty() {
        let mut additions = 0;
        for &b in &active {
            let pairs = lens[b] as usize / 2;
            let mut from = 0;
            while from < pairs {
                let to = pairs.min(from + BATCH - additions);
                segments.push((b, from..to));
                additions += to - from;
                from = to;
                if additions == BATCH {
                    add_pairs(points, starts, lens, &segments, &mut buffers);
                    segments.clear();
                    additions = 0;
                }
            }
        }
        if !segments.is_empty() {
            add_pairs(points, starts, lens, &segments, &mut buffers);
            segments.clear();
        }
        active.retain(|&b| lens[b] >= 2);
    }
}

/// Additions a batch of [`sum_buckets`] holds at most: 1,024 against 2,048 and 4,096 took
/// the least memory (44.5 MiB peak RSS for a cold `zkclaim prove`, against 45.4 and 48.3),
/// at the same speed within the noise (AMD Zen 4, 7 alternated runs).
const BATCH: usize = 1024;

/// What [`add_pairs`] reuses from batch to batch.
struct Buffers<F: BatchInvert> {
    pairs: Vec<[F; 4]>,
    sums: Vec<[F; 2]>,
    others: Vec<F>,
    inverses: Vec<F>,
    scratch: F::Scratch,
}

impl<F: BatchInvert> Buffers<F> {
    fn new(additions: usize) -> Self {
        Self {
            pairs: Vec::with_capacity(additions),
            sums: Vec::with_capacity(additions),
            others: Vec::new(),
            inverses: Vec::new(),
            scratch: Default::default(),
        }
    }
}

/// A batch of one round's additions: for each `(b, pairs)`, bucket `b`'s pairs of points
/// `pairs` summed into the first half of the bucket, in place (a pair's sum lands at or
/// before the pair, after every pair before it was read). Where the range ends the
/// bucket's pairs, an odd last point is moved after the sums and `lens[b]` halved. The
/// pairs a chord adds go to [`BatchInvert::add_in_lanes`] or `chords`, the rare others (a point at
/// infinity, a doubling, opposite points) through [`denominator`] and [`add`].
fn add_pairs<P>(
    points: &mut [Affine<P>],
    starts: &[u32],
    lens: &mut [u32],
    segments: &[(usize, core::ops::Range<usize>)],
    buffers: &mut Buffers<P::BaseField>,
) where
    P: SWCurveConfig,
    P::BaseField: BatchInvert,
{
    let Buffers {
        pairs,
        sums,
        others,
        inverses,
        scratch,
    } = buffers;
    pairs.clear();
    others.clear();
    for (b, range) in segments {
        let start = starts[*b] as usize;
        for i in range.clone() {
            let (p, q) = (&points[start + 2 * i], &points[start + 2 * i + 1]);
            match chord(p, q) {
                true => pairs.push([p.x, p.y, q.x, q.y]),
                false => others.push(denominator(p, q)),
            }
        }
    }
    if !P::BaseField::add_in_lanes(pairs, sums) {
        chords(pairs, sums, inverses, scratch);
    }
    P::BaseField::batch_invert(others, scratch);
    let (mut sum, mut inverse) = (sums.iter(), others.iter());
    for (b, range) in segments {
        let (start, len) = (starts[*b] as usize, lens[*b] as usize);
        for i in range.clone() {
            let (p, q) = (&points[start + 2 * i], &points[start + 2 * i + 1]);
            points[start + i] = match chord(p, q) {
                true => {
                    let [x, y] = sum.next().expect("one sum a chord");
                    Affine::new_unchecked(*x, *y)
                }
                false => add(p, q, inverse.next().expect("one inverse a pair")),
            };
        }
        if range.end == len / 2 {
            if len % 2 == 1 {
                points[start + len / 2] = points[start + len - 1];
            }
            lens[*b] = len.div_ceil(2) as u32;
        }
    }
}

/// Whether `p + q` is a chord's third point: neither at infinity, `x_p ≠ x_q`.
fn chord<P: SWCurveConfig>(p: &Affine<P>, q: &Affine<P>) -> bool {
    !p.is_zero() && !q.is_zero() && p.x != q.x
}

/// The denominator of the slope of `p + q` (`x_q − x_p`, or `2·y_p` to double); 1 where the
/// sum needs none (an operand or the result is the point at infinity).
fn denominator<P: SWCurveConfig>(p: &Affine<P>, q: &Affine<P>) -> P::BaseField {
    if p.is_zero() || q.is_zero() {
        P::BaseField::ONE
    } else if p.x != q.x {
        q.x - p.x
    } else if p.y == q.y && !p.y.is_zero() {
        p.y.double()
    } else {
        P::BaseField::ONE
    }
}

/// `p + q`, given the inverse of [`denominator`]`(p, q)`.
fn add<P: SWCurveConfig>(p: &Affine<P>, q: &Affine<P>, inverse: &P::BaseField) -> Affine<P> {
    if p.is_zero() {
        return *q;
    }
    if q.is_zero() {
        return *p;
    }
    let slope = if p.x != q.x {
        (q.y - p.y) * inverse
    } else if p.y == q.y && !p.y.is_zero() {
        let xx = p.x.square();
        (xx.double() + xx + P::COEFF_A) * inverse
    } else {
        return Affine::identity();
    };
    let [x, y] = third_point(slope, p.x, p.y, q.x);
    Affine::new_unchecked(x, y)
}

/// `(x, y)` of the sum of two points on the line of `slope` through `(x_p, y_p)`, whose
/// other point has abscissa `x_q` (`x_q = x_p` for a tangent).
fn third_point<F: Field>(slope: F, xp: F, yp: F, xq: F) -> [F; 2] {
    let x = slope.square() - xp - xq;
    [x, slope * (xp - x) - yp]
}

/// Fields whose elements the bucket sums invert in batches, one inversion a batch.
pub trait BatchInvert: Field {
    /// Scratch space that successive batches reuse.
    type Scratch: Default;

    /// Replaces each element, none of them zero, by its inverse.
    fn batch_invert(values: &mut [Self], scratch: &mut Self::Scratch);

    /// Where this CPU can, `(x, y)` of `p + q` for each pair `[x_p, y_p, x_q, y_q]` of
    /// affine points with `x_p ≠ x_q` into `sums` (cleared first), several at once, and
    /// `true`; else `false`, and the field's own arithmetic does it.
    fn add_in_lanes(_pairs: &[[Self; 4]], _sums: &mut Vec<[Self; 2]>) -> bool {
        false
    }
}

/// `(x, y)` of `p + q` for each pair `[x_p, y_p, x_q, y_q]` of affine points with
/// `x_p ≠ x_q`, into `sums` (cleared first), with the field's own arithmetic: the
/// denominators inverted in one batch.
fn chords<F: BatchInvert>(
    pairs: &[[F; 4]],
    sums: &mut Vec<[F; 2]>,
    inverses: &mut Vec<F>,
    scratch: &mut F::Scratch,
) {
    inverses.clear();
    inverses.extend(pairs.iter().map(|[xp, _, xq, _]| *xq - xp));
    F::batch_invert(inverses, scratch);
    sums.clear();
    sums.extend(
        pairs
            .iter()
            .zip(inverses.iter())
            .map(|([xp, yp, xq, yq], inverse)| third_point((*yq - yp) * inverse, *xp, *yp, *xq)),
    );
}

/// Montgomery's trick: one inversion and 3 multiplications an element. On a CPU with
/// AVX-512 IFMA, [`BatchInvert::add_in_lanes`] adds eight chords at once (`ifma`).
impl BatchInvert for ark_bn254::Fq {
    type Scratch = Vec<Self>;

    #[cfg(target_arch = "x86_64")]
    fn add_in_lanes(pairs: &[[Self; 4]], sums: &mut Vec<[Self; 2]>) -> bool {
        ifma::add_distinct(pairs, sums)
    }

    fn batch_invert(values: &mut [Self], products: &mut Vec<Self>) {
        products.clear();
        let mut product = Self::ONE;
        for v in values.iter() {
            product *= v;
            products.push(product);
        }
        let mut inverse = product.inverse().expect("denominators are never zero");
        for i in (1..values.len()).rev() {
            let next = inverse * values[i];
            values[i] = inverse * products[i - 1];
            inverse = next;
        }
        if let Some(first) = values.first_mut() {
            *first = inverse;
        }
    }
}

/// `1/a = ā / N(a)`: the norms, in the base field, are inverted there in a batch. In G2's
/// `Fq2` an element costs about 2 squarings and 5 multiplications in `Fq`, against 3 `Fq2`
/// multiplications (about 4 `Fq` ones each) for Montgomery's trick in `Fq2`. On a CPU with
/// AVX-512 IFMA, [`BatchInvert::add_in_lanes`] adds eight chords at once (`ifma`).
impl BatchInvert for ark_bn254::Fq2 {
    type Scratch = (Vec<ark_bn254::Fq>, <ark_bn254::Fq as BatchInvert>::Scratch);

    #[cfg(target_arch = "x86_64")]
    fn add_in_lanes(pairs: &[[Self; 4]], sums: &mut Vec<[Self; 2]>) -> bool {
        ifma::add_distinct(pairs, sums)
    }

    fn batch_invert(values: &mut [Self], (norms, scratch): &mut Self::Scratch) {
        norms.clear();
        norms.extend(values.iter().map(Self::norm));
        ark_bn254::Fq::batch_invert(norms, scratch);
        for (value, norm) in values.iter_mut().zip(norms.iter()) {
            value.conjugate_in_place().mul_assign_by_basefield(norm);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{g1, g2, Fr};
    use ark_ec::{CurveGroup, VariableBaseMSM};
    use ark_ff::UniformRand;
    use proptest::prelude::*;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    /// `n` distinct points: a random one and its successive sums with another.
    fn points<P: SWCurveConfig>(n: usize, seed: u64) -> Vec<Affine<P>> {
        let mut rng = StdRng::seed_from_u64(seed);
        let step = Projective::<P>::rand(&mut rng);
        let all: Vec<Projective<P>> =
            core::iter::successors(Some(Projective::<P>::rand(&mut rng)), |p| Some(*p + step))
                .take(n)
                .collect();
        Projective::normalize_batch(&all)
    }

    fn check<P>(bases: &[Affine<P>], scalars: &[Fr])
    where
        P: SWCurveConfig<ScalarField = Fr>,
        P::BaseField: BatchInvert,
    {
        let bigints: Vec<_> = scalars.iter().map(|s| s.into_bigint()).collect();
        assert_eq!(
            msm(bases, &bigints),
            Projective::<P>::msm_bigint(bases, &bigints),
            "{} points",
            bases.len()
        );
    }

    /// Scalars a witness has (0, 1, small, small negative) and the edges of the signed
    /// recoding (around r/2, near r) beside uniform ones.
    fn scalar() -> impl Strategy<Value = Fr> {
        let half = Fr::from_bigint(Fr::MODULUS_MINUS_ONE_DIV_TWO).unwrap();
        prop_oneof![
            Just(Fr::zero()),
            (1u64..6).prop_map(Fr::from),
            (1u64..6).prop_map(|k| -Fr::from(k)),
            (-2i64..=2).prop_map(move |k| half + Fr::from(k)),
            any::<u64>().prop_map(Fr::from),
            any::<u64>().prop_map(|seed| Fr::rand(&mut StdRng::seed_from_u64(seed))),
        ]
    }

    /// Bases drawn from a pool of four points, their negations and the point at infinity,
    /// so sums of a point with itself, with its negation and with infinity all occur.
    fn terms<P: SWCurveConfig>(
        pool: Vec<Affine<P>>,
    ) -> impl Strategy<Value = (Vec<Affine<P>>, Vec<Fr>)> {
        let base = (0..2 * pool.len() + 1).prop_map(move |i| match i {
            i if i < pool.len() => pool[i],
            i if i < 2 * pool.len() => -pool[i - pool.len()],
            _ => Affine::identity(),
        });
        prop::collection::vec((base, scalar()), 0..70).prop_map(|terms| terms.into_iter().unzip())
    }

    proptest! {
        #[test]
        fn equals_arkworks_in_g1((bases, scalars) in terms(points::<g1::Config>(4, 1))) {
            check(&bases, &scalars);
        }

        #[test]
        fn equals_arkworks_in_g2((bases, scalars) in terms(points::<g2::Config>(4, 2))) {
            check(&bases, &scalars);
        }

        /// The terms cut into parts at random places (some parts empty): one MSM of all
        /// of them equals the sum of arkworks' MSMs of each.
        #[test]
        fn a_sum_of_parts_equals_the_sum_of_their_msms(
            (bases, scalars) in terms(points::<g1::Config>(4, 10)),
            cuts in prop::collection::vec(0usize..70, 0..4),
        ) {
            let bigints: Vec<_> = scalars.iter().map(|s| s.into_bigint()).collect();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bases.len())).collect();
            cuts.push(0);
            cuts.push(bases.len());
            cuts.sort_unstable();
            let parts: Vec<Part<'_, g1::Config>> = cuts
                .windows(2)
                .map(|w| (&bases[w[0]..w[1]], &bigints[w[0]..w[1]]))
                .collect();
            let expected: Projective<g1::Config> = parts
                .iter()
                .map(|(b, s)| Projective::msm_bigint(b, s))
                .sum();
            prop_assert_eq!(msm_sum(&parts), expected);
        }

        #[test]
        fn batch_inversion_inverts_each_element_in_fq_and_fq2(
            seeds in prop::collection::vec(any::<u64>(), 0..40),
        ) {
            fn inverts<F: BatchInvert + UniformRand>(seeds: &[u64]) -> bool {
                let values: Vec<F> = seeds
                    .iter()
                    .map(|s| F::rand(&mut StdRng::seed_from_u64(*s)))
                    .filter(|v| !v.is_zero())
                    .collect();
                let mut inverses = values.clone();
                F::batch_invert(&mut inverses, &mut Default::default());
                values.iter().zip(&inverses).all(|(v, i)| *v * i == F::ONE)
            }
            prop_assert!(inverts::<ark_bn254::Fq>(&seeds));
            prop_assert!(inverts::<ark_bn254::Fq2>(&seeds));
        }

        /// Through the fixed bases' tables, in 1, 2 and 3 groups of buckets.
        #[test]
        fn fixed_bases_equal_arkworks(
            (bases, scalars) in terms(points::<g1::Config>(4, 11)),
            threads in 1usize..4,
        ) {
            let bigints: Vec<_> = scalars.iter().map(|s| s.into_bigint()).collect();
            let fixed = FixedBases::new(&bases, threads);
            let ours = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| fixed.msm(&bigints));
            prop_assert_eq!(ours, Projective::msm_bigint(&bases, &bigints));
        }

        #[test]
        fn equals_arkworks_with_all_scalars_equal(
            (bases, _) in terms(points::<g1::Config>(4, 3)),
            s in scalar(),
        ) {
            check(&bases, &vec![s; bases.len()]);
        }
    }

    #[test]
    fn lengths_zero_to_three_and_unequal_lengths() {
        let bases = points::<g1::Config>(5, 4);
        let scalars: Vec<Fr> = (1..=5u64).map(|k| -Fr::from(k)).collect();
        for n in 0..=3 {
            check(&bases[..n], &scalars[..n]);
        }
        // The shorter of the two, as arkworks.
        check(&bases[..2], &scalars[..4]);
        check(&bases[..5], &scalars[..3]);
        assert_eq!(msm::<g1::Config>(&[], &[]), Projective::zero());
    }

    /// Witness-like scalars: a third bits, some small and small negative, the rest uniform.
    fn witness(n: usize, seed: u64) -> Vec<Fr> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n)
            .map(|_| match rng.gen_range(0..6) {
                0 => Fr::zero(),
                1 => Fr::from(1u64),
                2 => Fr::from(rng.gen::<u32>()),
                3 => -Fr::from(rng.gen::<u8>()),
                _ => Fr::rand(&mut rng),
            })
            .collect()
    }

    #[test]
    fn equals_arkworks_at_the_real_sizes() {
        for n in [10_846, 16_384, 21_601] {
            check(&points::<g1::Config>(n, 5), &witness(n, n as u64));
        }
        for n in [7_919, 16_383] {
            check(&points::<g2::Config>(n, 6), &witness(n, n as u64));
        }
    }

    #[test]
    fn fixed_bases_equal_arkworks_at_real_sizes_and_past_r() {
        let (g1, g2) = (
            points::<g1::Config>(10_846, 12),
            points::<g2::Config>(7_919, 13),
        );
        let (s1, s2) = (witness(10_846, 14), witness(7_919, 15));
        let fixed = FixedBases::new(&g1, 2);
        assert!(fixed.bytes() > 16 * g1.len() * size_of::<Affine<g1::Config>>());
        let b1: Vec<_> = s1.iter().map(|s| s.into_bigint()).collect();
        assert_eq!(fixed.msm(&b1), Projective::msm_bigint(&g1, &b1));
        let b2: Vec<_> = s2.iter().map(|s| s.into_bigint()).collect();
        assert_eq!(
            FixedBases::new(&g2, 2).msm(&b2),
            Projective::msm_bigint(&g2, &b2)
        );
        // Integers of the width at or past r: wider than the tables, and still summed
        // (against the sum of each reduced mod r: arkworks' msm_bigint gets 2^256 − 1
        // wrong).
        let mut wide = b1[..100].to_vec();
        wide[7] = <g1::Config as ark_ec::CurveConfig>::ScalarField::MODULUS;
        wide[9] = ark_ff::BigInt([u64::MAX; 4]);
        let expected: Projective<g1::Config> = g1[..100]
            .iter()
            .zip(&wide)
            .map(|(p, k)| *p * Fr::from_le_bytes_mod_order(&k.to_bytes_le()))
            .sum();
        assert_eq!(msm(&g1[..100], &wide), expected);
        assert_eq!(FixedBases::new(&g1[..100], 2).msm(&wide), expected);
    }

    #[test]
    fn equals_arkworks_on_one_crowded_bucket() {
        // 16k terms on four bases with one scalar: every window has one bucket of 16k points
        // that cancel and double as they are summed.
        let pool = points::<g1::Config>(4, 7);
        let bases: Vec<_> = (0..16_384)
            .map(|i| {
                if i % 3 == 0 {
                    -pool[i % 4]
                } else {
                    pool[i % 4]
                }
            })
            .collect();
        for s in [
            -Fr::from(1u64),
            -Fr::from(2u64),
            Fr::rand(&mut StdRng::seed_from_u64(8)),
        ] {
            check(&bases, &vec![s; bases.len()]);
        }
    }

    #[test]
    fn signed_digits_recompose_the_scalar() {
        let mut rng = StdRng::seed_from_u64(9);
        for c in 2..=16 {
            let s = Fr::rand(&mut rng);
            let (magnitude, negated) = signed_magnitude::<g1::Config>(&s.into_bigint());
            let windows = magnitude.num_bits() as usize / c + 1;
            let mut digits = vec![0; windows];
            signed_digits(&magnitude, negated, c, &mut digits);
            let half = 1i32 << (c - 1);
            assert!(digits.iter().all(|d| (-half..=half).contains(d)), "c = {c}");
            let radix = Fr::from(1u64 << c);
            let value = digits.iter().rev().fold(Fr::zero(), |acc, d| {
                acc * radix
                    + if *d < 0 {
                        -Fr::from(d.unsigned_abs())
                    } else {
                        Fr::from(*d as u32)
                    }
            });
            assert_eq!(value, s, "c = {c}");
        }
    }
}
