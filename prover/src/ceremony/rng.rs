//! snarkjs's deterministic randomness (ffjavascript's `ChaCha` and the curves' `fromRng`):
//! what a beacon's key and the G2 point of each proof of knowledge are derived from, so
//! both must come out bit for bit as snarkjs makes them.
//!
//! - The stream is ChaCha20 (10 double rounds) keyed by 8 words, counter and nonce words
//!   zero, emitting each block's 16 words in order: [`rand_chacha::ChaCha20Rng`] keyed by
//!   each word's little-endian bytes (the same for fewer than 2⁶⁴ blocks). A 64-bit draw is
//!   two words, the first the high one.
//! - A field element is four 64-bit draws, the first the lowest, masked to the modulus's bit
//!   length and drawn again while not below the modulus; those bytes are then taken as the
//!   element's *Montgomery form*, so its value is `v·R⁻¹`. F_q² draws `c0` then `c1`.
//! - A point draws `x`, then a word whose low bit says which root `y` is (set: the
//!   "negative" one, above `(p−1)/2`; in F_q², as `c1` says or as `c0` says where `c1` is
//!   zero — arkworks' "greatest"), again while `x³ + b` is not a square. A G2 point is then
//!   multiplied by the curve's cofactor as a plain scalar (arkworks' `mul_by_cofactor`:
//!   `COFACTOR` is snarkjs's `cofactorG2`; ark-bn254 0.6's G2 multiplication by a scalar is
//!   double-and-add, not GLV, so it is right off the subgroup too).

use ark_bn254::{Fq2, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, Fp, MontBackend, MontConfig, PrimeField};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

/// ffjavascript's ChaCha stream.
pub struct Stream(ChaCha20Rng);

impl Stream {
    /// The stream keyed by `seed`'s 8 words.
    pub fn new(seed: [u32; 8]) -> Self {
        let mut key = [0u8; 32];
        for (bytes, word) in key.chunks_exact_mut(4).zip(seed) {
            bytes.copy_from_slice(&word.to_le_bytes());
        }
        Self(ChaCha20Rng::from_seed(key))
    }

    /// The stream keyed by the first 32 bytes of `hash` read as 8 big-endian words, as
    /// snarkjs seeds it from a hash.
    pub fn from_hash(hash: &[u8; 32]) -> Self {
        Self::new(core::array::from_fn(|i| {
            u32::from_be_bytes([
                hash[4 * i],
                hash[4 * i + 1],
                hash[4 * i + 2],
                hash[4 * i + 3],
            ])
        }))
    }

    pub fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    /// Two words, the first the high half.
    pub fn next_u64(&mut self) -> u64 {
        (u64::from(self.next_u32()) << 32) | u64::from(self.next_u32())
    }
}

/// A field element of four 64-bit limbs, as ffjavascript's `F.fromRng` makes it.
fn field<C: MontConfig<4>>(stream: &mut Stream) -> Fp<MontBackend<C, 4>, 4> {
    let top_bits = Fp::<MontBackend<C, 4>, 4>::MODULUS_BIT_SIZE - 192;
    loop {
        let mut v: [u64; 4] = core::array::from_fn(|_| stream.next_u64());
        v[3] &= (1u64 << top_bits) - 1;
        let v = BigInt(v);
        if v < C::MODULUS {
            // The bytes are taken as Montgomery form: the value is v·R⁻¹.
            return Fp::new_unchecked(v);
        }
    }
}

/// An F_r element as snarkjs's `Fr.fromRng` draws it.
pub fn fr_from_rng(stream: &mut Stream) -> Fr {
    field(stream)
}

/// A G1 point as snarkjs's `G1.fromRng` draws it.
pub fn g1_from_rng(stream: &mut Stream) -> G1Affine {
    loop {
        let x = field(stream);
        let negative = stream.next_u32() & 1 == 1;
        if let Some(p) = G1Affine::get_point_from_x_unchecked(x, negative) {
            return p;
        }
    }
}

/// A G2 point as snarkjs's `G2.fromRng` draws it: in the prime-order subgroup.
pub fn g2_from_rng(stream: &mut Stream) -> G2Affine {
    loop {
        let x = Fq2::new(field(stream), field(stream));
        let negative = stream.next_u32() & 1 == 1;
        if let Some(p) = G2Affine::get_point_from_x_unchecked(x, negative) {
            return p.mul_by_cofactor();
        }
    }
}

/// snarkjs's `hashToG2`: the G2 point drawn from the stream keyed by the hash's first 32
/// bytes (a contribution's transcript: the point its proof of knowledge is checked with).
pub fn hash_to_g2(hash: &[u8; 64]) -> G2Affine {
    let mut seed = [0; 32];
    seed.copy_from_slice(&hash[..32]);
    g2_from_rng(&mut Stream::from_hash(&seed))
}

/// snarkjs's `rngFromBeaconParams`: the stream keyed by SHA-256 applied `2^exp` times to the
/// beacon's hash (`exp` at most 63, as a beacon's parameters allow).
pub fn beacon_rng(beacon_hash: &[u8], exp: u8) -> Stream {
    let mut hash: [u8; 32] = Sha256::digest(beacon_hash).into();
    for _ in 1..1u64 << exp.min(63) {
        hash = Sha256::digest(hash).into();
    }
    Stream::from_hash(&hash)
}

#[cfg(test)]
mod tests {
    //! Known answers from ffjavascript 0.3 (snarkjs 0.7.6's), printed once by a Node script
    //! run in `target/tmp/snarkjs` (`NODE_PATH=node_modules node kat.cjs`):
    //!
    //! ```js
    //! const ff = require("ffjavascript"); const crypto = require("crypto");
    //! const curve = await ff.buildBn128(true);
    //! let rng = new ff.ChaCha([1,2,3,4,5,6,7,8]);       // 20 × rng.nextU32()
    //! rng = new ff.ChaCha([1,2,3,4,5,6,7,8]);
    //! curve.Fr.toObject(curve.Fr.fromRng(rng));           // then, same stream:
    //! curve.G1.toObject(curve.G1.toAffine(curve.G1.fromRng(rng)));
    //! // hashToG2 of the bytes 0, 1, …, 63 (snarkjs's keypair.js):
    //! curve.G2.toObject(curve.G2.toAffine(curve.G2.fromRng(new ff.ChaCha(beWords(h)))));
    //! // rngFromBeaconParams(0x0123456789abcdef, 10): SHA-256 1024 times, then
    //! // Fr.fromRng and G1.fromRng from the stream keyed by the result's BE words.
    //! ```
    use super::*;
    use ark_bn254::Fq;
    use std::str::FromStr;

    fn fq(s: &str) -> Fq {
        Fq::from_str(s).unwrap()
    }

    fn g1(x: &str, y: &str) -> G1Affine {
        G1Affine::new(fq(x), fq(y))
    }

    #[test]
    fn the_stream_is_ffjavascripts_chacha() {
        let mut stream = Stream::new([1, 2, 3, 4, 5, 6, 7, 8]);
        let words: Vec<u32> = (0..20).map(|_| stream.next_u32()).collect();
        assert_eq!(
            words,
            [
                0x8891120d, 0xa1d7fd60, 0x546a15d9, 0xf896cad8, 0x12976914, 0x7cf5a49d, 0x9ec2376e,
                0xafb55bc1, 0x45ce27df, 0xf262b106, 0x5f4bfe50, 0x4f55bc97, 0xfed515ad, 0x8f1f349c,
                0xed0e540e, 0x6c57863b, // the second block:
                0xee8cb87d, 0x987b993a, 0x888d6c84, 0xd273c55a,
            ]
        );
        let mut stream = Stream::new([1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(stream.next_u64(), 0x8891120d_a1d7fd60);
    }

    #[test]
    fn an_element_and_a_point_are_drawn_as_ffjavascript_draws_them() {
        let mut stream = Stream::new([1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            fr_from_rng(&mut stream),
            Fr::from_str(
                "11421152797359801513699257512876826534900512878648310510227136947029091328776"
            )
            .unwrap()
        );
        assert_eq!(
            g1_from_rng(&mut stream),
            g1(
                "5217210202433667727191898282504136790707584920818966276224927002650483462798",
                "15329941312121016545992532075626365884228451898446262084449300681562396985945"
            )
        );
    }

    #[test]
    fn hash_to_g2_is_snarkjss() {
        let hash: [u8; 64] = core::array::from_fn(|i| i as u8);
        let p = hash_to_g2(&hash);
        let expected = G2Affine::new(
            Fq2::new(
                fq("4331880802040179507408134841181032487087173600464364024802210002059667950604"),
                fq("4271516305872202364858900391755946161657037246250020514439168976697447665804"),
            ),
            Fq2::new(
                fq("14194165528950986229237743759035044030322996258565805903348263410557850081640"),
                fq("3572495062036222432809855904167672718120072387698078762897023322348755581936"),
            ),
        );
        assert_eq!(p, expected);
        assert!(p.is_in_correct_subgroup_assuming_on_curve());
        // The point drawn is off the subgroup; the cofactor's multiple is the answer.
        let mut seed = [0; 32];
        seed.copy_from_slice(&hash[..32]);
        let mut stream = Stream::from_hash(&seed);
        let raw = loop {
            let x = Fq2::new(field(&mut stream), field(&mut stream));
            let negative = stream.next_u32() & 1 == 1;
            if let Some(p) = G2Affine::get_point_from_x_unchecked(x, negative) {
                break p;
            }
        };
        assert_ne!(raw, expected);
        assert!(!raw.is_in_correct_subgroup_assuming_on_curve());
        assert_eq!(raw.mul_by_cofactor(), expected);
    }

    #[test]
    fn a_beacons_stream_is_snarkjss() {
        let mut stream = beacon_rng(&[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef], 10);
        assert_eq!(
            fr_from_rng(&mut stream),
            Fr::from_str(
                "21307331540416969308243277031038299019827938983090097520246082742150786532981"
            )
            .unwrap()
        );
        assert_eq!(
            g1_from_rng(&mut stream),
            g1(
                "3880319548065681990470729426906610309865725478850454147735390558303140273616",
                "6164949218424642906096800218140357785725866199739848984862761068207233069014"
            )
        );
    }
}
