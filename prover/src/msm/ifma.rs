//! Affine additions in BN254's base field, eight at once on AVX-512 IFMA.
//!
//! A scalar multiplication in `Fq` needs 32 64-bit products (16 for the product, 16 for
//! the Montgomery reduction); where the CPU multiplies 64-bit words slowly (one MULX every
//! two cycles on AMD's Zen 4, about 21 ns a multiplication), IFMA's 52-bit multiply-adds
//! on eight lanes do the same Montgomery multiplication for eight elements at a time.
//!
//! Elements are held in five limbs of 52 bits, and a lane multiplies by Montgomery's rule
//! for `R' = 2^260`: `mul(a, b) = a·b·2^−260 mod p`. They are taken as arkworks holds them,
//! `x·2^256 mod p` (its Montgomery form, "at scale 2^256"), with no conversion: a product
//! of values at scales `2^s` and `2^t` is at `2^(s + t − 260)`, and the formulas place their
//! scales so that the sums come out at `2^256` again (the slope at `2^258`, its square at
//! `2^256`). Values are not fully reduced between steps: the operands of each product
//! multiply to below `p·2^260` (at most `80p²`, in G2), as the reduction needs, which
//! leaves the product below `2p`; the sums leave below `5p` (below `2^256`), to be reduced
//! below `p`. The comments beside the formulas give each bound.

use ark_bn254::{Fq, Fq2};
use ark_ff::{AdditiveGroup, BigInt, Field};
use core::arch::x86_64::{
    __m512i, _mm512_add_epi64, _mm512_and_si512, _mm512_cmplt_epi64_mask, _mm512_loadu_si512,
    _mm512_madd52hi_epu64, _mm512_madd52lo_epu64, _mm512_mask_blend_epi64, _mm512_set1_epi64,
    _mm512_setzero_si512, _mm512_slli_epi64, _mm512_srai_epi64, _mm512_srli_epi64,
    _mm512_storeu_si512, _mm512_sub_epi64,
};

/// Five limbs of 52 bits, eight lanes each: eight elements.
type Lanes = [__m512i; 5];

const MASK: u64 = (1 << 52) - 1;
/// `p`, `2p` and `4p` in limbs of 52 bits.
const P: [u64; 5] = [
    0x8c16d87cfd47,
    0x916871ca8d3c2,
    0x181585d97816a,
    0xa029b85045b68,
    0x30644e72e131,
];
const P2: [u64; 5] = [
    0x1182db0f9fa8e,
    0x22d0e3951a784,
    0x302b0bb2f02d5,
    0x405370a08b6d0,
    0x60c89ce5c263,
];
const P4: [u64; 5] = [
    0x2305b61f3f51c,
    0x45a1c72a34f08,
    0x60561765e05aa,
    0x80a6e14116da0,
    0xc19139cb84c6,
];
/// 2^6, the inverses' correction in [`invert`].
const SIXTY_FOUR: Fq = ark_ff::MontFp!("64");
/// `−p⁻¹ mod 2^52`.
const P_INV: u64 = 0x20782e4866389;

/// Whether this CPU has the instructions (AVX-512F and IFMA).
fn available() -> bool {
    std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512ifma")
}

/// `(x, y)` of `p + q` for each pair `[x_p, y_p, x_q, y_q]` of affine points with
/// `x_p ≠ x_q`, into `sums` (cleared first): Montgomery's trick over the denominators, eight
/// lanes at once, one inversion in all. `false`, and nothing done, where the CPU lacks the
/// instructions or there are fewer than eight pairs.
pub(super) fn add_distinct<F: Coordinate>(pairs: &[[F; 4]], sums: &mut Vec<[F; 2]>) -> bool {
    if pairs.len() < 8 || !available() {
        return false;
    }
    sums.clear();
    // SAFETY: the CPU has AVX-512F and IFMA.
    BUFFERS.with_borrow_mut(|buffers| unsafe { F::add_in(pairs, sums, buffers) });
    true
}

/// The coordinates the lanes add in: G1's `Fq` and G2's `Fq2`.
pub(super) trait Coordinate: Sized {
    /// [`add_distinct`]'s work.
    ///
    /// # Safety
    /// The CPU must have AVX-512F and AVX-512 IFMA.
    unsafe fn add_in(pairs: &[[Self; 4]], sums: &mut Vec<[Self; 2]>, buffers: &mut LaneBuffers);
}

impl Coordinate for Fq {
    unsafe fn add_in(pairs: &[[Self; 4]], sums: &mut Vec<[Self; 2]>, buffers: &mut LaneBuffers) {
        // SAFETY: as the caller's.
        unsafe { add_in(pairs, sums, buffers) }
    }
}

/// In `Fq2` (`u² = −1`) each denominator is inverted through its norm in `Fq`,
/// `1/d = d̄/N(d)`, the norms by Montgomery's trick.
impl Coordinate for Fq2 {
    unsafe fn add_in(pairs: &[[Self; 4]], sums: &mut Vec<[Self; 2]>, buffers: &mut LaneBuffers) {
        // SAFETY: as the caller's.
        unsafe { add_in_fq2(pairs, sums, buffers) }
    }
}

/// The coordinates of each group of eight pairs, the denominators, their norms (in `Fq2`)
/// and the prefix products: a thread's buffers, kept from batch to batch (allocated afresh,
/// their few hundred kilobytes would be mapped and faulted in again each time).
#[derive(Default)]
pub(super) struct LaneBuffers {
    coordinates: Vec<Lanes>,
    denominators: Vec<Lanes>,
    norms: Vec<Lanes>,
    prefixes: Vec<Lanes>,
}

std::thread_local! {
    static BUFFERS: core::cell::RefCell<LaneBuffers> = core::cell::RefCell::default();
}

/// Coordinate `c` of eight pairs into lanes; a last group short of eight is filled with the
/// pair `(0, 0) + (1, 0)` (in `Fq2`, `(0, 0) + (1 + u, 0)`), whose denominator is invertible.
#[target_feature(enable = "avx512f")]
fn coordinate<F: Copy>(group: &[[F; 4]], c: usize, pad: F, limb: impl Fn(F) -> Fq) -> Lanes {
    load(|lane| limb(group.get(lane).map_or(pad, |pair| pair[c])))
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn add_in(pairs: &[[Fq; 4]], sums: &mut Vec<[Fq; 2]>, buffers: &mut LaneBuffers) {
    let LaneBuffers {
        coordinates,
        denominators,
        prefixes,
        ..
    } = buffers;
    let (p, p4) = (constant(P), constant(P4));
    coordinates.clear();
    for group in pairs.chunks(8) {
        for c in 0..4 {
            let pad = if c == 2 { Fq::ONE } else { Fq::ZERO };
            coordinates.push(coordinate(group, c, pad, |f| f));
        }
    }
    let groups = coordinates.chunks_exact(4);
    denominators.clear();
    denominators.extend(groups.clone().map(|g| sub(&g[2], &g[0], &p)));
    // The denominators at scale 2^256, so their inverses at 2^262.
    invert(denominators, prefixes);
    // The chord through p and q: x = λ² − x_p − x_q, y = λ·(x_p − x) − y_p.
    sums.reserve(prefixes.len() * 8);
    for (g, inverse) in groups.zip(prefixes.iter()) {
        let [xp, yp, xq, yq] = [&g[0], &g[1], &g[2], &g[3]];
        // λ at scale 2^258, so that λ² is at 2^256 and 4λ (the same value at 2^260) takes
        // x_p − x to 2^256. Bounds: λ < 2p, x < 4p, y < 3p.
        let slope = mul(&sub(yq, yp, &p), inverse);
        let x = sub(&sub(&mul(&slope, &slope), xp, &p), xq, &p);
        let y = sub(&mul(&quadruple(&slope), &sub(xp, &x, &p4)), yp, &p);
        let (x, y) = (store(&x), store(&y));
        sums.extend(x.into_iter().zip(y).map(|(x, y)| [x, y]));
    }
    sums.truncate(pairs.len());
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn add_in_fq2(pairs: &[[Fq2; 4]], sums: &mut Vec<[Fq2; 2]>, buffers: &mut LaneBuffers) {
    let LaneBuffers {
        coordinates,
        denominators,
        norms,
        prefixes,
    } = buffers;
    let (p, p2, p4) = (constant(P), constant(P2), constant(P4));
    coordinates.clear();
    for group in pairs.chunks(8) {
        for c in 0..4 {
            let pad = if c == 2 {
                Fq2::new(Fq::ONE, Fq::ONE)
            } else {
                Fq2::ZERO
            };
            coordinates.push(coordinate(group, c, pad, |f| f.c0));
            coordinates.push(coordinate(group, c, pad, |f| f.c1));
        }
    }
    let groups = coordinates.chunks_exact(8);
    // d = x_q − x_p (each part below 2p), N(d) = d₀² + d₁² (below 4p, at scale 2^252), whose
    // inverses come out at 2^266.
    denominators.clear();
    norms.clear();
    for g in groups.clone() {
        let d = [sub(&g[4], &g[0], &p), sub(&g[5], &g[1], &p)];
        norms.push(add(&mul(&d[0], &d[0]), &mul(&d[1], &d[1])));
        denominators.extend(d);
    }
    invert(norms, prefixes);
    sums.reserve(prefixes.len() * 8);
    let zero = [_mm512_setzero_si512(); 5];
    for ((g, d), inverse) in groups
        .zip(denominators.chunks_exact(2))
        .zip(prefixes.iter())
    {
        let [xp, yp, xq, yq] = [
            [&g[0], &g[1]],
            [&g[2], &g[3]],
            [&g[4], &g[5]],
            [&g[6], &g[7]],
        ];
        // 1/d = d̄/N(d) at scale 2^262 (parts below 2p), λ = (y_q − y_p)/d at 2^258, each
        // part below 4p.
        let d_inverse = [mul(&d[0], inverse), mul(&sub(&zero, &d[1], &p2), inverse)];
        let slope = mul2(&[sub(yq[0], yp[0], &p), sub(yq[1], yp[1], &p)], &d_inverse);
        // λ² at 2^256, parts below 2p; x (below 4p) at 2^256.
        let square = [
            mul(&add(&slope[0], &slope[1]), &sub(&slope[0], &slope[1], &p4)),
            mul(&add(&slope[0], &slope[0]), &slope[1]),
        ];
        let x: [Lanes; 2] = core::array::from_fn(|i| sub(&sub(&square[i], xp[i], &p), xq[i], &p));
        // 4λ at 2^260 (below 16p) times x_p − x (below 5p, 80p² < p·2^260): y, below 5p.
        let slope4 = [quadruple(&slope[0]), quadruple(&slope[1])];
        let product = mul2(&slope4, &[sub(xp[0], &x[0], &p4), sub(xp[1], &x[1], &p4)]);
        let y: [Lanes; 2] = core::array::from_fn(|i| sub(&product[i], yp[i], &p));
        let [x0, x1, y0, y1] = [store(&x[0]), store(&x[1]), store(&y[0]), store(&y[1])];
        sums.extend((0..8).map(|l| [Fq2::new(x0[l], x1[l]), Fq2::new(y0[l], y1[l])]));
    }
    sums.truncate(pairs.len());
}

/// Replaces `prefixes` by the inverses of `values` (one vector of lanes each, at scale
/// `2^s`, below `4p`), at scale `2^(518 − s)` and below `2p`: Montgomery's trick lane by
/// lane, the eight totals inverted in arkworks' arithmetic.
#[target_feature(enable = "avx512f,avx512ifma")]
fn invert(values: &[Lanes], prefixes: &mut Vec<Lanes>) {
    // The prefix product of v + 1 values is at scale 2^(s + v(s − 260)); the last, read as
    // arkworks' elements (at 2^256), inverted and read back, is at 2^(512 − s − (n − 1)(s −
    // 260)), and the backward pass takes each inverse to 2^(512 − s): times 2^6, 2^(518 − s).
    prefixes.clear();
    let mut product = values[0];
    prefixes.push(product);
    for value in &values[1..] {
        product = mul(&product, value);
        prefixes.push(product);
    }
    let mut totals = store(&product);
    // Serially: arkworks' `batch_inversion` is a rayon job, during which this thread could
    // take another window's task and come back here while the buffers are borrowed.
    <Fq as super::BatchInvert>::batch_invert(&mut totals, &mut Vec::with_capacity(8));
    let mut inverse = load(|lane| totals[lane] * SIXTY_FOUR);
    for v in (0..values.len()).rev() {
        let next = mul(&inverse, &values[v]);
        prefixes[v] = match v {
            0 => inverse,
            _ => mul(&inverse, &prefixes[v - 1]),
        };
        inverse = next;
    }
}

/// `a·b` in `Fq2` (`u² = −1`), schoolbook: at the sum of the scales less 260, each part
/// below `4p` for `a₀b₀, a₁b₁, a₀b₁, a₁b₀` each below `p·2^260`.
#[target_feature(enable = "avx512f,avx512ifma")]
fn mul2(a: &[Lanes; 2], b: &[Lanes; 2]) -> [Lanes; 2] {
    let p2 = constant(P2);
    [
        sub(&mul(&a[0], &b[0]), &mul(&a[1], &b[1]), &p2),
        add(&mul(&a[0], &b[1]), &mul(&a[1], &b[0])),
    ]
}

/// A constant in every lane.
#[target_feature(enable = "avx512f")]
fn constant(limbs: [u64; 5]) -> Lanes {
    limbs.map(|limb| _mm512_set1_epi64(limb as i64))
}

/// Eight elements (arkworks' Montgomery form, below `p`) into lanes.
#[target_feature(enable = "avx512f")]
fn load(element: impl Fn(usize) -> Fq) -> Lanes {
    to_lanes(core::array::from_fn(|lane| limbs(element(lane).0 .0)))
}

/// Eight values below `5p` out of lanes, reduced below `p`: arkworks' elements whose
/// Montgomery form they are.
#[target_feature(enable = "avx512f")]
fn store(lanes: &Lanes) -> [Fq; 8] {
    // 4p, 2p and p taken off in turn, in each lane where they fit: below 4p, 2p, then p.
    let (zero, mut value) = (_mm512_setzero_si512(), *lanes);
    for k in [P4, P2, P] {
        let less = sub(&value, &constant(k), &[zero; 5]);
        let negative = _mm512_cmplt_epi64_mask(less[4], zero);
        value = core::array::from_fn(|j| _mm512_mask_blend_epi64(negative, less[j], value[j]));
    }
    from_lanes(&value).map(|limbs| Fq::new_unchecked(words(limbs)))
}

/// Eight values' limbs into lanes: limb `j` of each in vector `j`.
#[target_feature(enable = "avx512f")]
fn to_lanes(values: [[u64; 5]; 8]) -> Lanes {
    core::array::from_fn(|j| {
        let row: [u64; 8] = core::array::from_fn(|lane| values[lane][j]);
        // SAFETY: eight u64, 64 bytes, which an unaligned load reads.
        unsafe { _mm512_loadu_si512(row.as_ptr().cast()) }
    })
}

/// The eight values' limbs out of lanes.
#[target_feature(enable = "avx512f")]
fn from_lanes(lanes: &Lanes) -> [[u64; 5]; 8] {
    let mut rows = [[0u64; 8]; 5];
    for (row, lane) in rows.iter_mut().zip(lanes) {
        // SAFETY: eight u64, 64 bytes, which an unaligned store writes.
        unsafe { _mm512_storeu_si512(row.as_mut_ptr().cast(), *lane) };
    }
    core::array::from_fn(|lane| core::array::from_fn(|j| rows[j][lane]))
}

/// A value's 256 bits cut into limbs of 52.
fn limbs([w0, w1, w2, w3]: [u64; 4]) -> [u64; 5] {
    [
        w0 & MASK,
        (w0 >> 52 | w1 << 12) & MASK,
        (w1 >> 40 | w2 << 24) & MASK,
        (w2 >> 28 | w3 << 36) & MASK,
        w3 >> 16,
    ]
}

/// A value below `2^256` from its limbs of 52 bits.
fn words(l: [u64; 5]) -> BigInt<4> {
    BigInt([
        l[0] | l[1] << 52,
        l[1] >> 12 | l[2] << 40,
        l[2] >> 24 | l[3] << 28,
        l[3] >> 36 | l[4] << 16,
    ])
}

/// `a + b` limb by limb, the carries propagated.
#[target_feature(enable = "avx512f")]
fn add(a: &Lanes, b: &Lanes) -> Lanes {
    carried(core::array::from_fn(|j| _mm512_add_epi64(a[j], b[j])))
}

/// Limbs of up to 64 bits taken to 52, each one's excess carried into the next (the top
/// limb keeps its own).
#[target_feature(enable = "avx512f")]
fn carried(limbs: Lanes) -> Lanes {
    let mask = _mm512_set1_epi64(MASK as i64);
    let mut carry = _mm512_setzero_si512();
    limbs.map(|limb| {
        let v = _mm512_add_epi64(limb, carry);
        carry = _mm512_srli_epi64::<52>(v);
        _mm512_and_si512(v, mask)
    })
}

/// `a − b + k` limb by limb, the borrows carried (arithmetic shifts): `k`, a multiple of
/// `p` above `b`, keeps the difference positive and congruent.
#[target_feature(enable = "avx512f")]
fn sub(a: &Lanes, b: &Lanes, k: &Lanes) -> Lanes {
    let mask = _mm512_set1_epi64(MASK as i64);
    let mut t: Lanes =
        core::array::from_fn(|j| _mm512_add_epi64(_mm512_sub_epi64(a[j], b[j]), k[j]));
    for j in 0..4 {
        let carry = _mm512_srai_epi64::<52>(t[j]);
        t[j] = _mm512_and_si512(t[j], mask);
        t[j + 1] = _mm512_add_epi64(t[j + 1], carry);
    }
    t
}

/// `4a`, limb by limb, the carries propagated (`a` below `2^258`).
#[target_feature(enable = "avx512f")]
fn quadruple(a: &Lanes) -> Lanes {
    carried(a.map(|limb| _mm512_slli_epi64::<2>(limb)))
}

/// `a·b·2^−260 mod p`, below `2p` for `a·b < p·2^260`: Montgomery's multiplication, a
/// limb of `b` a round, with the products' low and high 52 bits added into the limbs
/// (IFMA), then the carries.
#[target_feature(enable = "avx512f,avx512ifma")]
fn mul(a: &Lanes, b: &Lanes) -> Lanes {
    let zero = _mm512_setzero_si512();
    let p = constant(P);
    let p_inv = _mm512_set1_epi64(P_INV as i64);
    let mut t = [zero; 6];
    for bi in b {
        for j in 0..5 {
            t[j] = _mm512_madd52lo_epu64(t[j], a[j], *bi);
            t[j + 1] = _mm512_madd52hi_epu64(t[j + 1], a[j], *bi);
        }
        let m = _mm512_madd52lo_epu64(zero, t[0], p_inv);
        for j in 0..5 {
            t[j] = _mm512_madd52lo_epu64(t[j], m, p[j]);
            t[j + 1] = _mm512_madd52hi_epu64(t[j + 1], m, p[j]);
        }
        // t[0] is now a multiple of 2^52: shift a limb down.
        let carry = _mm512_srli_epi64::<52>(t[0]);
        t = [_mm512_add_epi64(t[1], carry), t[2], t[3], t[4], t[5], zero];
    }
    carried([t[0], t[1], t[2], t[3], t[4]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{BigInteger, PrimeField, UniformRand};
    use proptest::prelude::*;
    use rand::{rngs::StdRng, SeedableRng};

    /// An element from a seed: random, or one of the edges (0, 1, p − 1, p − 2).
    fn element(seed: u64) -> Fq {
        match seed % 6 {
            0 => Fq::ZERO,
            1 => Fq::ONE,
            2 => -Fq::ONE,
            3 => -Fq::from(2u64),
            _ => Fq::rand(&mut StdRng::seed_from_u64(seed)),
        }
    }

    /// Pairs from seeds, `x_q` moved off `x_p` where they met.
    fn pairs<F: Field>(seeds: &[[u64; 4]], element: impl Fn(u64) -> F) -> Vec<[F; 4]> {
        seeds
            .iter()
            .map(|s| {
                let [xp, yp, mut xq, yq] = s.map(&element);
                if xq == xp {
                    xq += F::ONE;
                }
                [xp, yp, xq, yq]
            })
            .collect()
    }

    /// A value below `k·p` in limbs of 52 bits, `r + j·p`: `k·p − 1` without `j` (`r = −1`,
    /// `j = k`), else with a random `r` below `p`.
    fn below(k: u64, j: Option<u64>, rng: &mut StdRng) -> [u64; 5] {
        let (r, j): ([i128; 5], u64) = match j {
            None => ([-1, 0, 0, 0, 0], k),
            Some(j) => (limbs(Fq::rand(rng).0 .0).map(i128::from), j),
        };
        let mut carry = 0;
        core::array::from_fn(|i| {
            let v = r[i] + i128::from(P[i]) * i128::from(j) + carry;
            carry = v >> 52;
            (v & i128::from(MASK)) as u64
        })
    }

    /// A value given by its limbs, modulo `p`.
    fn residue(limbs: [u64; 5]) -> Fq {
        limbs
            .iter()
            .rev()
            .fold(Fq::ZERO, |acc, &l| acc * Fq::from(1u64 << 52) + Fq::from(l))
    }

    /// `mul` is exact at the bounds the formulas rely on: for `a < k_a·p`, `b < k_b·p` with
    /// `k_a·k_b ≤ 80` (the largest, `4λ < 16p` times `x_p − x < 5p`, in G2), `a·b·2^−260 mod
    /// p`, below `2p`, in every lane; `k·p − 1` itself in lane 0.
    #[test]
    fn multiplication_holds_to_its_bound() {
        if !available() {
            eprintln!("no AVX-512 IFMA on this CPU: the lanes are not tested here");
            return;
        }
        let mut rng = StdRng::seed_from_u64(3);
        let mut two_p = Fq::MODULUS;
        two_p.mul2();
        for (ka, kb) in [
            (1, 1),
            (2, 2),
            (4, 4),
            (8, 8),
            (16, 5),
            (5, 16),
            (8, 10),
            (2, 40),
        ] {
            let mut draw = |k: u64, lane: usize| {
                let j = (lane > 0).then(|| rand::Rng::gen_range(&mut rng, 0..k));
                below(k, j, &mut rng)
            };
            let a: [[u64; 5]; 8] = core::array::from_fn(|lane| draw(ka, lane));
            let b: [[u64; 5]; 8] = core::array::from_fn(|lane| draw(kb, lane));
            // SAFETY: checked above.
            let product = unsafe { from_lanes(&mul(&to_lanes(a), &to_lanes(b))) };
            for (lane, r) in product.into_iter().enumerate() {
                assert!(r[4] < 1 << 48, "({ka}, {kb}) lane {lane}: above 2^256");
                assert!(words(r) < two_p, "({ka}, {kb}) lane {lane}: not below 2p");
                assert_eq!(
                    residue(r) * Fq::from(2u64).pow([260]),
                    residue(a[lane]) * residue(b[lane]),
                    "({ka}, {kb}) lane {lane}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The lanes' sums equal the field's own (`chords`), in `Fq` and `Fq2`, for any
        /// number of pairs from eight (a last group short of eight included) and coordinates
        /// at the edges of the field; the pairs are arbitrary field elements, not curve
        /// points: the chord's formulas do not need them on the curve.
        #[test]
        fn lanes_equal_the_scalar_arithmetic(seeds in prop::collection::vec(any::<[u64; 4]>(), 8..40)) {
            if !available() {
                // Without the instructions the MSMs take `chords`, which the MSM tests cover.
                eprintln!("no AVX-512 IFMA on this CPU: the lanes are not tested here");
                return Ok(());
            }
            let fq = pairs(&seeds, element);
            let (mut lanes, mut scalar) = (Vec::new(), Vec::new());
            prop_assert!(add_distinct(&fq, &mut lanes));
            super::super::chords(&fq, &mut scalar, &mut Vec::new(), &mut Vec::new());
            prop_assert_eq!(lanes, scalar);

            // In Fq2, each part from its own seed.
            let fq2 = pairs(&seeds, |seed| Fq2::new(element(seed), element(seed.rotate_left(32) ^ 7)));
            let (mut lanes, mut scalar) = (Vec::new(), Vec::new());
            prop_assert!(add_distinct(&fq2, &mut lanes));
            super::super::chords(&fq2, &mut scalar, &mut Vec::new(), &mut Default::default());
            prop_assert_eq!(lanes, scalar);
        }
    }
}
