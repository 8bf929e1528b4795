//! A labelled phrase index scored by character n-grams with TF-IDF
//! weights and cosine similarity.
//!
//! Features of a normalized text: for each run of letters in a spaced
//! script, contractions and spoken short forms written out ("where's" →
//! "where is", "hasn't" → "has not", "wanna" → "want to"), then for each
//! word its stem ("orders", "ordered" → "order") and the stem's
//! character trigrams with word boundaries (`" or"`, `"ord"`, `"rde"`,
//! `"der"`, `"er "`), plus one bigram feature per pair of neighbouring
//! content words ("cancel my order" → cancel+order); for each run of
//! Chinese (or other unspaced) characters, every character and every pair
//! of neighbours. A number (an order number, "15") is one feature of a
//! function word, whatever its digits. A feature's weight is its count
//! times its inverse document frequency over all indexed phrases, so words
//! many phrases share count for little; features of function words ("my",
//! "the", "的", "我", the question words "什么", "多少") count a fifth and
//! those of fillers ("um", "uh", "hi", "so") a twentieth from the start,
//! as a few example phrases per intent are too few for the frequencies to
//! show it. The word lists are in `words`.
//!
//! A query scores against every phrase; a label scores as its best phrase,
//! and [`Match::centroid`] also gives its cosine with the mean of the
//! label's phrases (a query that takes words from several of them).
//! Scores are cosines in `[0, 1]`: 1 for the same text, ~0 for nothing in
//! common. Building is linear in the phrases; a query costs one pass over
//! the phrases sharing a feature with it.

use std::collections::HashMap;

use super::normalize::{is_unspaced, normalize};
use super::words;

/// A feature: a hash of the n-gram's characters (FNV-1a, 64 bits).
pub(crate) type Feature = u64;
/// Feature weights of a phrase or query.
pub(crate) type Vector = HashMap<Feature, f32>;

/// One label's best-scoring phrase for a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// The label (intent name, FAQ entry id).
    pub label: String,
    /// Cosine similarity of the query and the label's closest phrase.
    pub score: f32,
    /// Index of that phrase among the label's phrases.
    pub phrase: usize,
    /// Cosine similarity of the query and the label's centroid (the mean
    /// of its phrases' unit vectors): high when the query shares words
    /// with many of the label's phrases.
    pub centroid: f32,
}

impl Match {
    /// The score FAQ lookups start from: `0.8 × score + 0.2 × centroid`.
    /// The best phrase decides (an entry's phrases are often unlike each
    /// other); the centroid breaks near-ties toward the label whose
    /// phrases share more with the query. Measured on held-out paraphrases
    /// with recogniser slips (see `faq`), this blend ranked paraphrases
    /// above unrelated sentences more often than either alone. (Intents,
    /// with more examples each, weigh the two alike: see `intent`.)
    pub fn blended(&self) -> f32 {
        (0.8 * self.score + 0.2 * self.centroid).clamp(0.0, 1.0)
    }
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
    /// Per label, the unit mean of its phrases' vectors.
    centroids: Vec<HashMap<Feature, f32>>,
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
        let phrases: Vec<Phrase> = raw
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
        let mut centroids: Vec<HashMap<Feature, f32>> = vec![HashMap::new(); labels.len()];
        for ph in &phrases {
            for (f, w) in &ph.weights {
                *centroids[ph.label].entry(*f).or_insert(0.0) += w;
            }
        }
        let centroids = centroids.into_iter().map(unit).collect();
        PhraseIndex {
            labels,
            phrases,
            idf,
            postings,
            centroids,
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
        self.rank_vector(&self.vector(query))
    }

    /// The weighted, unit-length features of `query`. Features no phrase
    /// has still count toward its length: a query mostly about something
    /// else scores low.
    pub(crate) fn vector(&self, query: &str) -> Vector {
        unit(weigh(term_counts(query), &self.idf, self.unseen_idf()))
    }

    /// Each phrase's label (its index in [`Self::labels`]) and features.
    pub(crate) fn phrase_vectors(&self) -> impl Iterator<Item = (usize, &Vector)> {
        self.phrases.iter().map(|p| (p.label, &p.weights))
    }

    /// [`Self::rank`] of a query's [`Self::vector`].
    pub(crate) fn rank_vector(&self, q: &Vector) -> Vec<Match> {
        let mut dots: HashMap<usize, f32> = HashMap::new();
        for (f, w) in q {
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
                    centroid: 0.0,
                });
            }
        }
        for (li, slot) in best.iter_mut().enumerate() {
            if let (Some(m), Some(c)) = (slot.as_mut(), self.centroids.get(li)) {
                let dot: f32 = q
                    .iter()
                    .map(|(f, w)| w * c.get(f).copied().unwrap_or(0.0))
                    .sum();
                m.centroid = dot.clamp(0.0, 1.0);
            }
        }
        let mut out: Vec<Match> = best.into_iter().flatten().collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
        out
    }

    /// The labels, in the order they were first given.
    pub fn labels(&self) -> &[String] {
        &self.labels
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

/// Marks a word-bigram feature, so it never collides with a word.
const BIGRAM_MARK: char = '\u{1}';

/// The feature of every number.
const NUMBER_MARK: char = '\u{2}';

/// Feature counts of `text`; see the module docs.
fn term_counts(text: &str) -> HashMap<Feature, f32> {
    let norm = normalize(text);
    let mut tf: HashMap<Feature, f32> = HashMap::new();
    let mut add = |chars: &[char], weight: f32| {
        *tf.entry(hash(chars)).or_insert(0.0) += weight;
    };
    // The previous content word, for word bigrams; a run of unspaced
    // characters in between breaks the chain.
    let mut prev: Option<Vec<char>> = None;
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
                prev = None;
                unspaced_features(run, &mut add);
            } else {
                let text: String = run.iter().collect();
                match words::expand(&text) {
                    Some(full) => {
                        for w in full {
                            word_features(w, &mut prev, &mut add);
                        }
                    }
                    None => word_features(&text, &mut prev, &mut add),
                }
            }
            start = end;
        }
    }
    tf
}

/// The features of one spaced-script word: its stem, the stem's
/// trigrams, and its bigram with `prev`, the previous content word.
fn word_features(word: &str, prev: &mut Option<Vec<char>>, add: &mut impl FnMut(&[char], f32)) {
    // Which order, which day: the digits say nothing about what the
    // caller wants, that there is a number might.
    if word.chars().all(|c| c.is_ascii_digit()) {
        add(&[NUMBER_MARK], words::FUNCTION_WEIGHT);
        return;
    }
    let w = words::word_weight(word);
    let stem: Vec<char> = stem(word).chars().collect();
    add(&stem, w);
    let mut padded = Vec::with_capacity(stem.len() + 2);
    padded.push(' ');
    padded.extend_from_slice(&stem);
    padded.push(' ');
    for tri in padded.windows(3) {
        add(tri, w);
    }
    if w >= 1.0 {
        if let Some(p) = prev.take() {
            let mut pair = p;
            pair.push(BIGRAM_MARK);
            pair.extend_from_slice(&stem);
            add(&pair, BIGRAM_WEIGHT);
        }
        *prev = Some(stem);
    }
}

/// The weight of a word bigram feature (of two content words, function
/// words skipped: "cancel my order" → cancel+order).
const BIGRAM_WEIGHT: f32 = 1.0;

/// Every character of a run of Chinese, and every pair of neighbours.
fn unspaced_features(run: &[char], add: &mut impl FnMut(&[char], f32)) {
    for i in 0..run.len() {
        add(&run[i..=i], words::char_weight(run[i]));
        if i + 1 < run.len() {
            add(&run[i..i + 2], words::pair_weight(run[i], run[i + 1]));
        }
    }
}

/// Folds the common English inflections so "orders", "ordered" and
/// "ordering" share their features with "order" (and "arrives",
/// "arrived", "arriving" with "arrive"): plural and third-person -s,
/// -ies, -ed, -ing, then a final -e and a doubled final consonant
/// ("shipped" → "ship"). Crude, but applied alike to phrases and
/// queries; words of digits or other scripts pass through, and a stem
/// keeps at least three letters.
pub(crate) fn stem(word: &str) -> String {
    if !word.chars().all(|c| c.is_ascii_lowercase()) {
        return word.to_string();
    }
    let mut w = word.to_string();
    if w.len() > 4 && w.ends_with("ies") {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if w.len() > 3
        && w.ends_with('s')
        && !w.ends_with("ss")
        && !w.ends_with("us")
        && !w.ends_with("is")
    {
        w.pop();
    }
    let mut cut = false;
    for suffix in ["ing", "ed"] {
        if w.len() >= suffix.len() + 3 && w.ends_with(suffix) {
            w.truncate(w.len() - suffix.len());
            cut = true;
            break;
        }
    }
    if w.len() > 3 && w.ends_with('e') {
        w.pop();
    }
    let b = w.as_bytes();
    if cut
        && b.len() > 3
        && b[b.len() - 1] == b[b.len() - 2]
        && !b"aeioulsz".contains(&b[b.len() - 1])
    {
        w.pop();
    }
    w
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
    fn stems_fold_inflections() {
        for (word, want) in [
            ("orders", "order"),
            ("ordered", "order"),
            ("ordering", "order"),
            ("shipped", "ship"),
            ("shipping", "ship"),
            ("arrives", "arriv"),
            ("arrived", "arriv"),
            ("arrive", "arriv"),
            ("deliveries", "delivery"),
            ("address", "address"),
            ("status", "status"),
            ("this", "this"),
            ("is", "is"),
            ("called", "call"),
            ("call", "call"),
            ("123", "123"),
            ("退货", "退货"),
        ] {
            assert_eq!(stem(word), want, "{word}");
        }
        let ix = shop();
        let m = ix.best("has my orders been shipping").expect("match");
        assert_eq!(m.label, "order_status");
    }

    #[test]
    fn fillers_neither_match_nor_dilute() {
        let ix = shop();
        let plain = ix.best("where is my order").expect("match").score;
        let padded = ix
            .best("um, uh, hi, so well, where is my order")
            .expect("match")
            .score;
        assert!(plain - padded < 0.02, "{plain} vs {padded}");
        assert!(ix.best("um uh hmm").is_none());
        let zh = ix.best("嗯，那个，我要退货").expect("match");
        assert_eq!(zh.label, "return_refund");
        assert!(zh.score > 0.8, "{zh:?}");
    }

    #[test]
    fn contractions_and_numbers_fold() {
        let ix = shop();
        for (q, same) in [
            ("Where's my order?", "where is my order"),
            ("my parcel hasn't arrived", "my parcel has not arrived"),
            ("I wanna return this", "I want to return this"),
            ("cancel order 12345678", "cancel order 99"),
        ] {
            let (a, b) = (ix.vector(q), ix.vector(same));
            let dot: f32 = a.iter().map(|(f, w)| w * b.get(f).unwrap_or(&0.0)).sum();
            assert!((dot - 1.0).abs() < 1e-4, "{q} / {same}: {dot}");
        }
        let m = ix.best("where's my order").expect("match");
        assert!((m.score - 1.0).abs() < 1e-4, "{m:?}");
    }

    #[test]
    fn word_bigrams_prefer_the_same_pairing() {
        let ix = PhraseIndex::new([
            ("cancel", vec!["cancel my order"]),
            ("status", vec!["order status", "cancel status"]),
        ]);
        assert_eq!(ix.best("cancel the order").expect("match").label, "cancel");
    }

    #[test]
    fn centroid_favours_labels_sharing_more() {
        let ix = shop();
        let r = ix.rank("track my order, has it shipped");
        assert_eq!(r[0].label, "order_status");
        assert!(r[0].centroid > 0.0 && r[0].centroid <= 1.0, "{r:?}");
        assert!(r.iter().all(|m| (0.0..=1.0).contains(&m.blended())));
        assert_eq!(ix.labels().len(), 5);
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
