//! `zkclaim insurer`: an insurer's policyholders and claims, in its registry (DATA's, or the
//! node's with `--server`).

use crate::{
    commands::{parse_field, shown, Chain, Context, Signer},
    error::Error,
    files,
};
use serde_json::{json, Value};
use std::{fmt::Write, path::PathBuf};
use zkclaim_circuits::{
    date::{self, Day},
    field,
    policy::{policy_hash, Policy},
    Fr,
};
use zkclaim_insurer::{Application, Terms};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Enrol a policyholder: the registry draws the policy's salt and records its hash with
    /// the patient's claimant tag; writes the policy file to hand to the patient and prints
    /// the enrolment.
    Enroll(EnrollArgs),
    /// Print a policy file's hash, as a claim proved under it shows it.
    PolicyHash {
        /// The policy file (`-`: standard input).
        policy: PathBuf,
    },
    /// List the insurer's enrolments, oldest first (revoked ones included).
    List {
        #[command(flatten)]
        signer: Signer,
        #[command(flatten)]
        chain: Chain,
    },
    /// Revoke the insurer's active enrolments of a claimant tag: claims under them are
    /// refused from now on.
    Revoke {
        /// The policyholder's claimant tag, `0x` and 64 hex digits.
        #[arg(long, value_parser = parse_field)]
        tag: Fr,
        /// Only the enrolment of this policy hash [default: every active one of the tag].
        #[arg(long, value_parser = parse_field)]
        policy_hash: Option<Fr>,
        #[command(flatten)]
        signer: Signer,
        #[command(flatten)]
        chain: Chain,
    },
    /// The insurer's claims: the latest settled and refused (with reasons), totals per day.
    Claims {
        /// How many of the latest settled, and of the latest refused, claims to list.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=1000))]
        limit: u16,
        #[command(flatten)]
        signer: Signer,
        #[command(flatten)]
        chain: Chain,
    },
}

#[derive(clap::Args)]
pub struct EnrollArgs {
    /// The patient's claimant tag at this insurer, `0x` and 64 hex digits (`zkclaim patient
    /// tag`).
    #[arg(long, value_parser = parse_field)]
    tag: Fr,
    /// The policy's terms as a JSON file ({"insurer_id" (the member's own), "period_start",
    /// "period_end", "deductible", "rate_bp", "cap", "category_mask"}), instead of the
    /// flags below.
    #[arg(long, conflicts_with_all = TERMS)]
    terms: Option<PathBuf>,
    /// The first day the policy covers, YYYY-MM-DD.
    #[arg(long, value_parser = parse_day, required_unless_present = "terms")]
    period_start: Option<Day>,
    /// The last day the policy covers, YYYY-MM-DD.
    #[arg(long, value_parser = parse_day, required_unless_present = "terms")]
    period_end: Option<Day>,
    /// Fen the patient pays before the policy pays.
    #[arg(long, required_unless_present = "terms")]
    deductible: Option<u64>,
    /// The share the policy pays, in basis points (8000 = 80%).
    #[arg(long, required_unless_present = "terms")]
    rate_bp: Option<u64>,
    /// The most the policy pays for one claim, in fen.
    #[arg(long, required_unless_present = "terms")]
    cap: Option<u64>,
    /// The categories covered: bit c set covers category c (decimal, or hex as 0x1fff).
    #[arg(long, value_parser = parse_mask, required_unless_present = "terms")]
    category_mask: Option<u16>,
    /// The last day a claim under the policy is accepted [default: 90 days after
    /// --period-end].
    #[arg(long, value_parser = parse_day)]
    claims_until: Option<Day>,
    /// Where the insurer pays this policyholder's claims (an account reference).
    #[arg(long)]
    payout_ref: String,
    /// Where the policy file goes (`-`: standard output); an existing file is never
    /// replaced. Written owner-only: its salt hides the terms.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    signer: Signer,
    #[command(flatten)]
    chain: Chain,
}

/// The term flags, which `--terms FILE` replaces.
const TERMS: [&str; 6] = [
    "period_start",
    "period_end",
    "deductible",
    "rate_bp",
    "cap",
    "category_mask",
];

fn parse_day(text: &str) -> Result<Day, String> {
    date::parse(text).map_err(|e| e.to_string())
}

fn parse_mask(text: &str) -> Result<u16, String> {
    match text.strip_prefix("0x") {
        Some(hex) => u16::from_str_radix(hex, 16),
        None => text.parse(),
    }
    .map_err(|_| "expected 0 to 65535, in decimal or as 0x and hex digits".to_owned())
}

pub fn exec(command: Command, ctx: &Context) -> Result<(), Error> {
    let params = ctx.params_dir(None);
    match command {
        Command::Enroll(args) => enroll(args, ctx),
        Command::PolicyHash { policy } => {
            let policy: Policy = files::read(&policy)?;
            let hash = field::format(&policy_hash(&policy));
            ctx.output.result(json!({ "policy_hash": hash }), &hash);
            Ok(())
        }
        Command::List { signer, chain } => {
            let key = signer.key(&ctx.data)?;
            let answer = ctx.node(&params, chain)?.enrolments(&key)?;
            let mut text = format!("insurer {}'s enrolments:", key.member_id());
            for e in list(&answer, "enrolments") {
                text += &format!("\n  {}", enrolment(e));
            }
            ctx.output.result(answer, text);
            Ok(())
        }
        Command::Revoke {
            tag,
            policy_hash,
            signer,
            chain,
        } => {
            let key = signer.key(&ctx.data)?;
            let answer = ctx.node(&params, chain)?.revoke(tag, policy_hash, &key)?;
            let mut text = format!("revoked at insurer {}:", key.member_id());
            for e in list(&answer, "revoked") {
                text += &format!("\n  {}", enrolment(e));
            }
            ctx.output.result(answer, text);
            Ok(())
        }
        Command::Claims {
            limit,
            signer,
            chain,
        } => {
            let key = signer.key(&ctx.data)?;
            let answer = ctx
                .node(&params, chain)?
                .insurer_claims(limit.into(), &key)?;
            let text = report(key.member_id(), &answer);
            ctx.output.result(answer, text);
            Ok(())
        }
    }
}

fn enroll(args: EnrollArgs, ctx: &Context) -> Result<(), Error> {
    let key = args.signer.key(&ctx.data)?;
    // Checked before enrolling: an enrolment whose policy file is lost helps no one.
    if !files::is_stdio(&args.out) && args.out.exists() {
        return Err(Error::BadFile {
            path: args.out,
            reason: "already exists: a policy file is never replaced; choose another --out".into(),
        });
    }
    let terms = match &args.terms {
        Some(path) => files::read(path)?,
        None => Terms {
            insurer_id: key.member_id(),
            // clap requires each without --terms.
            period_start: args.period_start.expect("required"),
            period_end: args.period_end.expect("required"),
            deductible: args.deductible.expect("required"),
            rate_bp: args.rate_bp.expect("required"),
            cap: args.cap.expect("required"),
            category_mask: args.category_mask.expect("required"),
        },
    };
    let application = Application {
        claimant_tag: args.tag,
        terms,
        claims_until: args.claims_until,
        payout_ref: args.payout_ref,
    };
    let answer = ctx
        .node(&ctx.params_dir(None), args.chain)?
        .enroll(application, &key)?;
    let policy: Policy = serde_json::from_value(answer["policy"].clone())
        .map_err(|e| Error::Node(format!("the enrolment's policy file: {e}")))?;
    files::write_secret(&args.out, &policy)?;
    let summary = enrolment(&answer["enrolment"]);
    if files::is_stdio(&args.out) {
        // Standard output holds the policy file.
        eprintln!("enrolled: {summary}");
    } else {
        ctx.output.result(
            json!({"enrolment": answer["enrolment"], "out": args.out}),
            format_args!(
                "enrolled: {summary}\npolicy file written to {}: hand it to the patient",
                args.out.display()
            ),
        );
    }
    Ok(())
}

/// The array `name` of a node's answer.
fn list<'a>(answer: &'a Value, name: &str) -> &'a [Value] {
    answer[name].as_array().map_or(&[], Vec::as_slice)
}

/// One enrolment, on one line; its payout reference left out.
fn enrolment(e: &Value) -> String {
    let terms = &e["terms"];
    let state = match e["revoked_ms"].as_u64() {
        Some(ms) => format!("revoked {}", date::format((ms / 86_400_000) as Day)),
        None => "active".to_owned(),
    };
    format!(
        "tag {} policy {} period {}..{} claims until {} ({state})",
        shown(&e["claimant_tag"]),
        shown(&e["policy_hash"]),
        shown(&terms["period_start"]),
        shown(&terms["period_end"]),
        shown(&e["claims_until"]),
    )
}

/// The insurer's report as text: latest settled, latest refused, totals per day.
fn report(insurer: u32, answer: &Value) -> String {
    let mut text = format!("insurer {insurer}'s claims\nsettled (latest first):");
    for o in list(answer, "settled") {
        let _ = write!(
            text,
            "\n  {} {} fen, block {}",
            shown(&o["nullifier"]),
            o["claim_amount"],
            o["height"]
        );
    }
    text += "\nrefused (latest first):";
    for o in list(answer, "refused") {
        let _ = write!(
            text,
            "\n  {} {} fen, {}: {}",
            shown(&o["nullifier"]),
            o["claim_amount"],
            shown(&o["code"]),
            shown(&o["reason"])
        );
    }
    text += "\nper day (UTC):";
    for d in list(answer, "days") {
        let _ = write!(
            text,
            "\n  {}: {} settled ({} fen), {} refused",
            shown(&d["day"]),
            d["settled"],
            d["amount"],
            d["refused"]
        );
    }
    text
}
