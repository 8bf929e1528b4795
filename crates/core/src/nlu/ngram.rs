//! A labelled phrase index scored by character n-grams with TF-IDF
//! weights and cosine similarity.
//!
//! Features of a normalized text: for each run of letters in a spaced
//! script, the word itself and its character trigrams with word boundaries
//! (`" or"`, `"ord"`, `"rde"`, `"der"`, `"er "`); for each run of Chinese
//! (or other unspaced) characters, every character and every pair of
//! neighbours. Digits count as letters. A feature's weight is its count
//! times its inverse document frequency over all indexed phrases, so words
//! many phrases share count for little; features of function words ("my",
//! "the", "的", "我") count a fifth from the start, as a few example
//! phrases per intent are too few for the frequencies to show it.
//!
//! A query scores against every phrase; a label scores as its best phrase.
//! Scores are cosines in `[0, 1]`: 1 for the same text, ~0 for nothing in
//! common. Building is linear in the phrases; a query costs one pass over
//! the phrases sharing a feature with it.

use std::collections::HashMap;

use super::normalize::{is_unspaced, normalize};

/// A feature: a hash of the n-gram's characters (FNV-1a, 64 bits).
type Feature = u64;

/// One label's best-scoring phrase for a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// The label (intent name, FAQ entry id).
    pub label: String,
    /// Cosine similarity of the query and the label's closest phrase.
    pub score: f32,
    /// Index of that phrase among the label's phrases.
    pub phrase: usize,
}

#[derive(Debug, Clone)]
struct Phrase {
    label: usize,
    ordinal: usize,
    /// Feature weights (TF-IDF), unit length.
    weights: HashMap<Feature, f32>,
}

/// Labelled example phrases, ready to match queries against.
#[derive(Debug, Clone, Default)]
pub struct PhraseIndex {
    labels: Vec<String>,
    phrases: Vec<Phrase>,
    idf: HashMap<Feature, f32>,
    /// Feature -> the phrases that have it.
    postings: HashMap<Feature, Vec<usize>>,
}

impl PhraseIndex {
    /// Indexes `entries`: (label, its example phrases). Phrases that
    /// normalize to nothing are skipped; a label may repeat (its phrases
    /// are merged).
    pub fn new<L, P, S>(entries: L) -> Self
    where
        L: IntoIterator<Item = (S, P)>,
        P: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut labels: Vec<String> = Vec::new();
        let mut raw: Vec<(usize, usize, HashMap<Feature, f32>)> = Vec::new();
        let mut counts: Vec<usize> = Vec::new();
        for (label, phrases) in entries {
            let label = label.as_ref();
            let li = labels.iter().position(|l| l == label).unwrap_or_else(|| {
                labels.push(label.to_string());
                counts.push(0);
                labels.len() - 1
            });
            for p in phrases {
                let tf = term_counts(p.as_ref());
                if tf.is_empty() {
                    continue;
                }
                raw.push((li, counts[li], tf));
                counts[li] += 1;
            }
        }
        let n = raw.len() as f32;
        let mut df: HashMap<Feature, usize> = HashMap::new();
        for (_, _, tf) in &raw {
            for f in tf.keys() {
                *df.entry(*f).or_insert(0) += 1;
            }
        }
        let idf: HashMap<Feature, f32> = df
            .into_iter()
            .map(|(f, d)| (f, ((n + 1.0) / (d as f32 + 1.0)).ln() + 1.0))
            .collect();
        let mut postings: HashMap<Feature, Vec<usize>> = HashMap::new();
        let phrases = raw
            .into_iter()
            .enumerate()
            .map(|(i, (label, ordinal, tf))| {
                let weights = unit(weigh(tf, &idf, 1.0));
                for f in weights.keys() {
                    postings.entry(*f).or_default().push(i);
                }
                Phrase {
                    label,
                    ordinal,
                    weights,
                }
            })
            .collect();
        PhraseIndex {
            labels,
            phrases,
            idf,
            postings,
        }
    }

    /// Number of indexed phrases.
    pub fn len(&self) -> usize {
        self.phrases.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// Every label that shares anything with `query`, best first (ties by
    /// label order). Empty for a query with no features.
    pub fn rank(&self, query: &str) -> Vec<Match> {
        let tf = term_counts(query);
        // Features no phrase has still count toward the query's length:
        // a query mostly about something else scores low.
        let q = unit(weigh(tf, &self.idf, self.unseen_idf()));
        let mut dots: HashMap<usize, f32> = HashMap::new();
        for (f, w) in &q {
            for &p in self.postings.get(f).into_iter().flatten() {
                let pw = self.phrases[p].weights.get(f).copied().unwrap_or(0.0);
                *dots.entry(p).or_insert(0.0) += w * pw;
            }
        }
        let mut best: Vec<Option<Match>> = vec![None; self.labels.len()];
        for (p, score) in dots {
            let ph = &self.phrases[p];
            let slot = &mut best[ph.label];
            if slot.as_ref().is_none_or(|m| score > m.score) {
                *slot = Some(Match {
                    label: self.labels[ph.label].clone(),
                    score: score.clamp(0.0, 1.0),
                    phrase: ph.ordinal,
                });
            }
        }
        let mut out: Vec<Match> = best.into_iter().flatten().collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
        out
    }

    /// The best label for `query`, if any shares a feature with it.
    pub fn best(&self, query: &str) -> Option<Match> {
        self.rank(query).into_iter().next()
    }

    /// The weight of a feature no phrase has: as rare as can be.
    fn unseen_idf(&self) -> f32 {
        ((self.phrases.len() as f32 + 1.0).ln()) + 1.0
    }
}

/// Words that say little about what the caller wants; their features
/// count a fifth. (A handful of phrases is too few for IDF to find them.)
const FUNCTION_WORDS: &[&str] = &[
    "a", "am", "an", "and", "are", "at", "be", "can", "do", "does", "for", "have", "i", "in", "is",
    "it", "like", "me", "my", "of", "on", "please", "the", "this", "to", "want", "was", "what",
    "would", "you", "your",
];
/// Chinese characters of the same kind (particles, pronouns).
const FUNCTION_CHARS: &[char] = &[
    '的', '了', '吗', '啊', '呢', '吧', '我', '你', '是', '在', '想', '要',
];
/// The weight of a feature from a function word.
const FUNCTION_WEIGHT: f32 = 0.2;

/// Feature counts of `text`; see the module docs.
fn term_counts(text: &str) -> HashMap<Feature, f32> {
    let norm = normalize(text);
    let mut tf: HashMap<Feature, f32> = HashMap::new();
    let mut add = |chars: &[char], weight: f32| {
        *tf.entry(hash(chars)).or_insert(0.0) += weight;
    };
    for word in norm.split(' ').filter(|w| !w.is_empty()) {
        let chars: Vec<char> = word.chars().collect();
        // Split the word into runs of unspaced and spaced characters
        // ("iphone手机" → "iphone", "手机").
        let mut start = 0;
        while start < chars.len() {
            let unspaced = is_unspaced(chars[start]);
            let end = chars[start..]
                .iter()
                .position(|&c| is_unspaced(c) != unspaced)
                .map_or(chars.len(), |k| start + k);
            let run = &chars[start..end];
            if unspaced {
                let w = |c: char| {
                    if FUNCTION_CHARS.contains(&c) {
                        FUNCTION_WEIGHT
                    } else {
                        1.0
                    }
                };
                for i in 0..run.len() {
                    add(&run[i..=i], w(run[i]));
                    if i + 1 < run.len() {
                        add(&run[i..i + 2], w(run[i]).max(w(run[i + 1])));
                    }
                }
            } else {
                let text: String = run.iter().collect();
                let w = if FUNCTION_WORDS.contains(&text.as_str()) {
                    FUNCTION_WEIGHT
                } else {
                    1.0
                };
                add(run, w);
                let mut padded = Vec::with_capacity(run.len() + 2);
                padded.push(' ');
                padded.extend_from_slice(run);
                padded.push(' ');
                for tri in padded.windows(3) {
                    add(tri, w);
                }
            }
            start = end;
        }
    }
    tf
}

/// TF-IDF weights; `unseen` for features not in `idf`.
fn weigh(
    tf: HashMap<Feature, f32>,
    idf: &HashMap<Feature, f32>,
    unseen: f32,
) -> HashMap<Feature, f32> {
    tf.into_iter()
        .map(|(f, n)| (f, n * idf.get(&f).copied().unwrap_or(unseen)))
        .collect()
}

/// The vector scaled to unit length (unchanged if zero).
fn unit(mut v: HashMap<Feature, f32>) -> HashMap<Feature, f32> {
    let norm = v.values().map(|w| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        for w in v.values_mut() {
            *w /= norm;
        }
    }
    v
}

/// FNV-1a over the characters (with a separator so "ab"+"c" ≠ "a"+"bc").
fn hash(chars: &[char]) -> Feature {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in chars {
        for b in (*c as u32).to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h ^ chars.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> PhraseIndex {
        PhraseIndex::new([
            (
                "order_status",
                vec![
                    "where is my order",
                    "track my order",
                    "has my order shipped",
                ],
            ),
            (
                "cancel_order",
                vec!["cancel my order", "I want to cancel the order"],
            ),
            (
                "return_refund",
                vec![
                    "I want to return this",
                    "how do I get a refund",
                    "我要退货",
                    "怎么退款",
                ],
            ),
            (
                "delivery_problem",
                vec![
                    "my parcel has not arrived",
                    "the package is late",
                    "快递还没到",
                    "包裹丢了",
                ],
            ),
            (
                "human_agent",
                vec!["let me talk to a person", "转人工", "我要找客服"],
            ),
        ])
    }

    #[test]
    fn the_same_text_scores_one() {
        let ix = shop();
        let m = ix.best("Where is my order?").expect("match");
        assert_eq!(m.label, "order_status");
        assert!((m.score - 1.0).abs() < 1e-4, "{}", m.score);
        assert_eq!(m.phrase, 0);
    }

    #[test]
    fn recogniser_slips_still_match() {
        let ix = shop();
        for (q, want) in [
            ("were is my oder", "order_status"),
            ("cancle my order please", "cancel_order"),
            ("my parcell hasnt arived yet", "delivery_problem"),
            ("can I get a refnd", "return_refund"),
        ] {
            let r = ix.rank(q);
            assert_eq!(r[0].label, want, "{q}: {r:?}");
            assert!(r[0].score > r[1].score, "{q}: {r:?}");
        }
    }

    #[test]
    fn chinese_needs_no_segmentation() {
        let ix = shop();
        for (q, want) in [
            ("我想退货", "return_refund"),
            ("我的快递怎么还没到啊", "delivery_problem"),
            ("帮我转人工客服", "human_agent"),
        ] {
            let m = ix.best(q).expect("match");
            assert_eq!(m.label, want, "{q}: {m:?}");
        }
    }

    #[test]
    fn unrelated_or_empty_queries_score_low() {
        let ix = shop();
        // Off-topic scores well under a paraphrase (the dialplan's
        // threshold goes between).
        let low = ix
            .best("what is the weather like in paris")
            .map_or(0.0, |m| m.score);
        let para = ix.best("my package never came").map_or(0.0, |m| m.score);
        assert!(low < 0.2 && para > 2.0 * low, "{low} vs {para}");
        assert!(ix.best("").is_none());
        assert!(ix.best("？！").is_none());
        assert!(PhraseIndex::new(Vec::<(&str, Vec<&str>)>::new())
            .best("hello")
            .is_none());
    }

    #[test]
    fn scores_stay_in_range_for_any_text() {
        let ix = shop();
        for q in [
            "a",
            "order order order order",
            "订单订单订单",
            "x1 y2 z3",
            "退货 refund",
        ] {
            for m in ix.rank(q) {
                assert!((0.0..=1.0).contains(&m.score), "{q}: {m:?}");
            }
        }
    }
}
