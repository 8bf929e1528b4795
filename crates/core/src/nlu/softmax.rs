//! A linear model over a [`PhraseIndex`]'s features: which label a
//! query's words speak for, learnt from the labelled phrases by softmax
//! (multinomial logistic) regression.
//!
//! Similarity to the closest example ([`PhraseIndex::rank`]) weighs a
//! feature by its rarity among all phrases; this model learns per label
//! which features tell it apart from the other labels: "order" is in most
//! intents' examples and speaks for none of them, "never" speaks for a
//! delivery problem. There is no bias term: a query with no known
//! feature gets the same probability for every label, not the label with
//! the most examples. Trained when built by stochastic gradient descent
//! over the phrases in a fixed order (the same phrases give the same
//! model), in a few milliseconds for a dialplan's few hundred phrases.
//!
//! Not here: features and their weights (`ngram`), combining this with
//! the similarity into a confidence (`intent`).

use std::collections::HashMap;

use super::ngram::{Feature, PhraseIndex, Vector};

/// Passes over the phrases. Measured on the bundled shop dialplans, more
/// changed nothing and half as many a phrase or two.
const EPOCHS: usize = 30;
/// Step size of gradient descent (inputs are unit vectors).
const RATE: f32 = 0.5;
/// L2 penalty per step: keeps a word that one example has from deciding
/// alone.
const L2: f32 = 0.001;

/// Label probabilities from query features.
#[derive(Debug, Clone, Default)]
pub(crate) struct Softmax {
    labels: usize,
    /// Feature -> its row in `weights`.
    rows: HashMap<Feature, usize>,
    /// Row-major: `labels` weights per feature.
    weights: Vec<f32>,
}

impl Softmax {
    /// Learns the phrases of `index`.
    pub(crate) fn train(index: &PhraseIndex) -> Softmax {
        let labels = index.labels().len();
        let mut rows: HashMap<Feature, usize> = HashMap::new();
        let data: Vec<(usize, Vec<(usize, f32)>)> = index
            .phrase_vectors()
            .map(|(label, v)| {
                // HashMap order varies from run to run; the model should
                // not, so rows are numbered in feature order.
                let mut fs: Vec<(Feature, f32)> = v.iter().map(|(f, w)| (*f, *w)).collect();
                fs.sort_by_key(|e| e.0);
                let x: Vec<(usize, f32)> = fs
                    .into_iter()
                    .map(|(f, w)| {
                        let next = rows.len();
                        (*rows.entry(f).or_insert(next), w)
                    })
                    .collect();
                (label, x)
            })
            .collect();
        let mut m = Softmax {
            labels,
            weights: vec![0.0; rows.len() * labels],
            rows,
        };
        if labels < 2 {
            return m;
        }
        let mut p = vec![0.0; labels];
        for _ in 0..EPOCHS {
            for (y, x) in &data {
                m.forward(x, &mut p);
                for (l, pl) in p.iter().enumerate() {
                    let g = pl - if l == *y { 1.0 } else { 0.0 };
                    for (r, v) in x {
                        let w = &mut m.weights[r * labels + l];
                        *w -= RATE * (g * v + L2 * *w);
                    }
                }
            }
        }
        m
    }

    /// The probability of each label (in the index's label order) given
    /// a query's [`PhraseIndex::vector`]. Features the phrases lack are
    /// ignored.
    pub(crate) fn probs(&self, q: &Vector) -> Vec<f32> {
        let mut x: Vec<(usize, f32)> = q
            .iter()
            .filter_map(|(f, w)| self.rows.get(f).map(|r| (*r, *w)))
            .collect();
        x.sort_by_key(|e| e.0);
        let mut p = vec![0.0; self.labels];
        self.forward(&x, &mut p);
        p
    }

    /// How much of a query's [`PhraseIndex::vector`] the model knows: the
    /// length of the part made of features some phrase has, `0..=1` (1
    /// when every feature is known, 0 when none is).
    pub(crate) fn coverage(&self, q: &Vector) -> f32 {
        q.iter()
            .filter(|(f, _)| self.rows.contains_key(f))
            .map(|(_, w)| w * w)
            .sum::<f32>()
            .sqrt()
            .min(1.0)
    }

    /// The softmax of the label scores of sparse input `x`, into `p`.
    fn forward(&self, x: &[(usize, f32)], p: &mut [f32]) {
        p.fill(0.0);
        for (r, v) in x {
            let row = &self.weights[r * self.labels..(r + 1) * self.labels];
            for (pl, w) in p.iter_mut().zip(row) {
                *pl += v * w;
            }
        }
        let max = p.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for pl in p.iter_mut() {
            *pl = (*pl - max).exp();
            sum += *pl;
        }
        if sum > 0.0 {
            for pl in p.iter_mut() {
                *pl /= sum;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> PhraseIndex {
        PhraseIndex::new([
            (
                "status",
                vec![
                    "where is my order",
                    "track my order",
                    "has my order shipped",
                ],
            ),
            (
                "cancel",
                vec!["cancel my order", "I don't want the order", "stop it"],
            ),
            (
                "late",
                vec!["my order never came", "the parcel never arrived"],
            ),
        ])
    }

    #[test]
    fn words_one_label_has_speak_for_it() {
        let ix = index();
        let m = Softmax::train(&ix);
        let p = m.probs(&ix.vector("my order never arrived"));
        assert_eq!(p.len(), 3);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4, "{p:?}");
        // "order" is everywhere; "never" and "arrived" are late's.
        assert!(p[2] > p[0] && p[2] > p[1], "{p:?}");
    }

    #[test]
    fn no_known_feature_is_even() {
        let ix = index();
        let p = Softmax::train(&ix).probs(&ix.vector("天气"));
        assert!(p.iter().all(|x| (x - 1.0 / 3.0).abs() < 1e-6), "{p:?}");
        let one = PhraseIndex::new([("only", vec!["hello there"])]);
        assert_eq!(Softmax::train(&one).probs(&one.vector("hello")), vec![1.0]);
        let none = PhraseIndex::new(Vec::<(&str, Vec<&str>)>::new());
        assert!(Softmax::train(&none).probs(&none.vector("x")).is_empty());
    }

    #[test]
    fn coverage_is_the_known_part() {
        let ix = index();
        let m = Softmax::train(&ix);
        assert!((m.coverage(&ix.vector("track my order")) - 1.0).abs() < 1e-4);
        assert_eq!(m.coverage(&ix.vector("天气")), 0.0);
        let half = m.coverage(&ix.vector("track my order 天气预报"));
        assert!(half > 0.3 && half < 0.9, "{half}");
    }

    #[test]
    fn training_is_deterministic() {
        let ix = index();
        let q = ix.vector("cancel the order please");
        assert_eq!(Softmax::train(&ix).probs(&q), Softmax::train(&ix).probs(&q));
    }
}
