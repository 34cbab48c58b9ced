"""Check the formulas, numbers and code of the Machine Learning Interview deck by running them.

Each check names the card (its id) whose claim it tests and fails with an AssertionError if the
claim does not hold. Not part of the test suite on purpose: it needs numpy, scipy, pandas and
scikit-learn, which flashcards itself does not. Run it in a throwaway environment:

    python3 -m venv /tmp/mlcheck
    /tmp/mlcheck/bin/pip install -r scripts/deck-checks/requirements.txt
    /tmp/mlcheck/bin/python scripts/deck-checks/check_deck_facts.py

It prints one line per check and "all N checks passed" at the end (about a minute on one core).
"""

from __future__ import annotations

import itertools
import math
import sys
import warnings
from collections import Counter

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier, StackingClassifier
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (
    brier_score_loss,
    f1_score,
    log_loss,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)
from sklearn.metrics.pairwise import cosine_similarity, rbf_kernel
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler, TargetEncoder
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.class_weight import compute_class_weight

RNG = np.random.default_rng(0)
CHECKS = []


def check(func):
    """Register a check."""
    CHECKS.append(func)
    return func


# basic ----------------------------------------------------------------------------
@check
def precision_recall_f1():
    """precision-formula, recall-formula, f1-formula, f1-harmonic-mean."""
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 1])
    p = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 1])
    tp, fp, fn = 3, 1, 2
    assert precision_score(y, p) == tp / (tp + fp)
    assert recall_score(y, p) == tp / (tp + fn)
    prec, rec = tp / (tp + fp), tp / (tp + fn)
    assert math.isclose(f1_score(y, p), 2 * prec * rec / (prec + rec))
    assert round(2 * 1.0 * 0.1 / 1.1, 2) == 0.18  # precision 1.0, recall 0.1


@check
def bias_variance_decomposition():
    """bias-variance-decomposition: E[(y - fhat)^2] = bias^2 + var + sigma^2 at a fixed x."""
    sigma, x0, f = 0.5, 0.3, np.sin
    preds, errors = [], []
    for _ in range(4000):
        x = RNG.uniform(-2, 2, 20)
        y = f(x) + RNG.normal(0, sigma, 20)
        coef = np.polyfit(x, y, 1)
        fhat = np.polyval(coef, x0)
        preds.append(fhat)
        errors.append((f(x0) + RNG.normal(0, sigma) - fhat) ** 2)
    preds = np.array(preds)
    rhs = (preds.mean() - f(x0)) ** 2 + preds.var() + sigma**2
    assert abs(np.mean(errors) - rhs) / rhs < 0.05, (np.mean(errors), rhs)


@check
def ols_closed_form():
    """ols-closed-form, linear-regression-internals."""
    X = RNG.normal(size=(200, 3))
    y = X @ [1.0, -2.0, 0.5] + 3 + RNG.normal(0, 0.1, 200)
    Xb = np.column_stack([np.ones(200), X])
    beta = np.linalg.inv(Xb.T @ Xb) @ Xb.T @ y
    model = LinearRegression().fit(X, y)
    assert np.allclose(beta[1:], model.coef_) and np.isclose(beta[0], model.intercept_)
    assert np.allclose(beta, np.linalg.lstsq(Xb, y, rcond=None)[0])


@check
def r_squared_can_be_negative():
    """r-squared: 1 - SS_res/SS_tot, 0 for the mean, negative when worse than the mean."""
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert r2_score(y, np.full(4, y.mean())) == 0
    assert r2_score(y, y[::-1]) < 0
    pred = np.array([1.1, 1.9, 3.2, 3.8])
    assert np.isclose(r2_score(y, pred),
                      1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum())


@check
def logistic_log_odds_and_odds_ratio():
    """logistic-regression-internals, logistic-odds-ratio, sigmoid-function."""
    X, y = make_classification(n_samples=500, n_features=3, n_informative=3, n_redundant=0,
                               random_state=0)
    model = LogisticRegression().fit(X, y)
    p = model.predict_proba(X)[:, 1]
    assert np.allclose(np.log(p / (1 - p)), X @ model.coef_[0] + model.intercept_[0])
    x = X[:1].copy()
    odds = lambda row: (q := model.predict_proba(row)[0, 1]) / (1 - q)  # noqa: E731
    before = odds(x)
    x[0, 1] += 1
    assert np.isclose(odds(x) / before, np.exp(model.coef_[0, 1]))
    sigma = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    z = np.linspace(-5, 5, 11)
    h = 1e-6
    assert np.allclose((sigma(z + h) - sigma(z - h)) / (2 * h), sigma(z) * (1 - sigma(z)))
    assert np.isclose((sigma(0 + h) - sigma(0 - h)) / (2 * h), 0.25)
    assert model.get_params()["C"] == 1.0 and model.get_params()["penalty"] in ("l2", "deprecated")


@check
def logistic_separable_data_diverges():
    """logistic-separable-data: without a penalty the weights grow without bound."""
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0, 0, 1, 1])
    # The log loss of w = c keeps falling as c grows: no finite maximum-likelihood estimate.
    losses = [log_loss(y, 1 / (1 + np.exp(-c * X[:, 0])), labels=[0, 1]) for c in (1, 5, 25)]
    assert losses == sorted(losses, reverse=True) and losses[-1] < 1e-9, losses
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        free = LogisticRegression(C=np.inf, max_iter=10000).fit(X, y).coef_[0, 0]
    default = LogisticRegression().fit(X, y).coef_[0, 0]
    assert free > 5 * default, (free, default)


@check
def gini_entropy_information_gain():
    """gini-impurity, entropy-impurity, information-gain, gini-worked-example."""
    gini = lambda p: 1 - sum(q * q for q in p)  # noqa: E731
    entropy = lambda p: -sum(q * math.log2(q) for q in p if q)  # noqa: E731
    assert math.isclose(gini([0.8, 0.2]), 0.32)
    assert gini([1.0]) == 0 and math.isclose(gini([0.5, 0.5]), 0.5)
    assert math.isclose(gini([1 / 3] * 3), 1 - 1 / 3)
    # Gini = chance that two draws with replacement differ.
    p = [0.5, 0.3, 0.2]
    assert math.isclose(gini(p), sum(a * b for i, a in enumerate(p)
                                     for j, b in enumerate(p) if i != j))
    assert entropy([1.0]) == 0 and math.isclose(entropy([0.5, 0.5]), 1.0)
    # scikit-learn's tree reports the same impurity for the root.
    X = np.arange(10).reshape(-1, 1)
    y = np.array([1] * 8 + [0] * 2)
    tree = DecisionTreeClassifier(max_depth=1).fit(X, y)
    assert math.isclose(tree.tree_.impurity[0], 0.32)
    gain = entropy([0.8, 0.2]) - (8 / 10 * entropy([1.0]) + 2 / 10 * entropy([1.0]))
    assert math.isclose(gain, entropy([0.8, 0.2]))


@check
def trees_invariant_to_monotone_transforms():
    """trees-need-no-scaling."""
    X, y = make_classification(n_samples=300, n_features=4, random_state=1)
    X = X - X.min() + 1
    a = DecisionTreeClassifier(random_state=0).fit(X, y).predict(X)
    b = DecisionTreeClassifier(random_state=0).fit(np.log(X) * 7 + 3, y).predict(np.log(X) * 7 + 3)
    assert (a == b).all()


@check
def scalers():
    """standardisation, min-max-scaling."""
    x = np.array([[1.0], [2.0], [4.0], [9.0]])
    z = StandardScaler().fit_transform(x)
    assert np.allclose(z.ravel(), (x.ravel() - x.mean()) / x.std())
    assert np.isclose(z.mean(), 0) and np.isclose(z.var(), 1)


@check
def one_hot_dummy_trap():
    """one-hot-dummy-trap: full one-hot plus intercept is rank deficient; drop='first' is not."""
    colours = np.array([["red"], ["green"], ["blue"], ["red"], ["blue"], ["green"]])
    full = OneHotEncoder(sparse_output=False).fit_transform(colours)
    dropped = OneHotEncoder(sparse_output=False, drop="first").fit_transform(colours)
    with_intercept = lambda m: np.column_stack([np.ones(len(m)), m])  # noqa: E731
    assert np.allclose(full.sum(axis=1), 1)
    assert np.linalg.matrix_rank(with_intercept(full)) == full.shape[1]  # one short of 4 columns
    assert np.linalg.matrix_rank(with_intercept(dropped)) == dropped.shape[1] + 1


@check
def target_encoder_cross_fits():
    """target-encoding-leakage: fit_transform is cross-fitted, fit().transform() is not."""
    n = 400
    cat = RNG.integers(0, 200, n).reshape(-1, 1)  # high cardinality, no signal
    y = RNG.integers(0, 2, n)
    enc = TargetEncoder()
    assert enc.get_params()["cv"] == 5
    crossed = enc.fit_transform(cat, y).ravel()
    naive = TargetEncoder().fit(cat, y).transform(cat).ravel()
    corr = lambda a: abs(np.corrcoef(a, y)[0, 1])  # noqa: E731
    assert corr(naive) > 0.3 > corr(crossed), (corr(naive), corr(crossed))


@check
def class_weight_balanced():
    """class-weight-balanced: n_samples / (n_classes * n_c); 900/100 -> 0.56 and 5.0."""
    y = np.array([0] * 900 + [1] * 100)
    w = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)
    assert np.allclose(w, [1000 / (2 * 900), 1000 / (2 * 100)])
    assert round(w[0], 2) == 0.56 and w[1] == 5.0


@check
def stacking_uses_out_of_fold_predictions():
    """stacking-out-of-fold: StackingClassifier's default cv is 5-fold cross_val_predict."""
    import inspect

    import sklearn.ensemble._stacking as stacking

    assert "cross_val_predict" in inspect.getsource(stacking)
    assert "default 5-fold cross validation" in " ".join(StackingClassifier.__doc__.split())
    X, y = make_classification(n_samples=200, random_state=0)
    model = StackingClassifier([("knn", KNeighborsClassifier(1))], cv=None).fit(X, y)
    # A 1-NN is perfect on its own training rows; out-of-fold it is not, and the meta-model
    # sees the out-of-fold predictions, so its coefficient stays moderate.
    assert model.named_estimators_["knn"].score(X, y) == 1.0
    assert cross_val_score(KNeighborsClassifier(1), X, y, cv=5).mean() < 1.0


@check
def naive_bayes_one_feature_at_a_time():
    """naive-bayes-little-data: GaussianNB's parameters are per-class, per-feature statistics."""
    from sklearn.naive_bayes import GaussianNB

    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    nb = GaussianNB().fit(X, y)
    for c in (0, 1):
        assert np.allclose(nb.theta_[c], X[y == c].mean(axis=0))
        assert np.allclose(nb.var_[c], X[y == c].var(axis=0), atol=1e-8)


# intermediate ----------------------------------------------------------------------
@check
def missing_data_code_and_sentinels():
    """missing-data-impute-code, missing-data-sentinels."""
    df = pd.DataFrame({"age": [30, -999, 40, np.nan, 50, 60, -999, 35], "label": [0, 1] * 4})
    # Without converting, the sentinel survives both pandas and SimpleImputer.
    assert (df.fillna({"age": df["age"].median()})["age"] == -999).sum() == 2
    assert (SimpleImputer(strategy="median").fit_transform(df[["age"]]) == -999).sum() == 2
    assert int(df["age"].isna().sum()) == 1
    # The card's code.
    df["age"] = df["age"].replace(-999, np.nan)
    train, test = train_test_split(df, random_state=0)
    median_age = train["age"].median()
    train = train.fillna({"age": median_age})
    test = test.fillna({"age": median_age})
    assert not train["age"].isna().any() and not test["age"].isna().any()
    assert (pd.concat([train, test])["age"] != -999).all()
    # The alternatives named in the extra.
    raw = np.array([[30.0], [-999.0], [40.0]])
    assert SimpleImputer(missing_values=-999, strategy="median").fit_transform(raw)[1, 0] == 35
    from io import StringIO

    read = pd.read_csv(StringIO("age\n30\n-999\n40\n"), na_values=[-999])
    assert int(read["age"].isna().sum()) == 1


@check
def learning_rate_stability_limit():
    """learning-rate-too-high-or-low: GD on a quadratic diverges once lr > 2 / lambda_max."""
    H = np.diag([1.0, 10.0])

    def run(lr):
        w = np.array([1.0, 1.0])
        for _ in range(200):
            w = w - lr * H @ w
        return np.linalg.norm(w)

    assert run(0.19) < 1e-3 and run(0.21) > 1e3


@check
def adam_bias_correction_and_update():
    """adam-update, adam-bias-correction: constant g gives m_t = (1 - b1^t) g; corrected = g."""
    b1, b2, g = 0.9, 0.999, 0.5
    m = v = 0.0
    for t in range(1, 6):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        assert math.isclose(m, (1 - b1**t) * g) and math.isclose(m / (1 - b1**t), g)
        assert math.isclose(v / (1 - b2**t), g * g)
    # Uncorrected, the first step would be (1 - b1) g / sqrt((1 - b2) g^2) = 3.16x the lr.
    assert math.isclose((1 - b1) * g / math.sqrt((1 - b2) * g * g), 0.1 / math.sqrt(0.001))


@check
def weight_decay_equals_l2_only_for_sgd():
    """adamw-vs-l2, l1-vs-l2-regularisation's extra."""
    w, g, lr, lam = np.array([1.0, 1.0]), np.array([10.0, 0.01]), 0.1, 0.01
    sgd_l2 = w - lr * (g + lam * w)
    sgd_decay = (1 - lr * lam) * w - lr * g
    assert np.allclose(sgd_l2, sgd_decay)

    def adam_first_step(grad):  # bias-corrected first step: m_hat = grad, v_hat = grad^2
        return grad / (np.sqrt(grad**2) + 1e-8)

    adam_l2 = w - lr * adam_first_step(g + lam * w)
    adamw = w - lr * adam_first_step(g) - lr * lam * w
    assert not np.allclose(adam_l2, adamw)
    # With L2 inside Adam the decay is rescaled per weight; AdamW decays both weights equally.
    decay_l2 = (w - lr * adam_first_step(g)) - adam_l2
    decay_w = (w - lr * adam_first_step(g)) - adamw
    assert np.allclose(decay_w, lr * lam * w)
    assert decay_l2[0] < decay_w[0]  # the large-gradient weight is decayed less


@check
def cosine_schedule_endpoints():
    """cosine-schedule."""
    lo, hi, T = 0.001, 0.1, 100
    eta = lambda t: lo + 0.5 * (hi - lo) * (1 + math.cos(math.pi * t / T))  # noqa: E731
    assert math.isclose(eta(0), hi) and math.isclose(eta(T), lo)
    assert math.isclose(eta(T / 2), (hi + lo) / 2)


@check
def mean_and_median_minimise_losses():
    """mse-vs-mae, loss-functions-and-likelihood."""
    y = np.array([1.0, 2.0, 2.5, 3.0, 100.0])
    grid = np.linspace(0, 110, 110001)
    sq = ((y[:, None] - grid) ** 2).sum(axis=0)
    ab = np.abs(y[:, None] - grid).sum(axis=0)
    assert abs(grid[sq.argmin()] - y.mean()) < 1e-3
    assert abs(grid[ab.argmin()] - np.median(y)) < 1e-3


@check
def log_loss_and_brier():
    """binary-cross-entropy, brier-score."""
    y = np.array([1, 0, 1, 1, 0])
    p = np.array([0.9, 0.2, 0.6, 0.8, 0.3])
    manual = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert np.isclose(log_loss(y, p), manual)
    assert np.isclose(brier_score_loss(y, p), np.mean((p - y) ** 2))


@check
def gaussian_nll_is_squared_error():
    """squared-error-gaussian, map-laplace-prior."""
    y, yhat, s = np.array([1.0, 2.0, 4.0]), np.array([1.5, 1.5, 3.0]), 0.7
    nll = -stats.norm(yhat, s).logpdf(y).sum()
    const = len(y) * math.log(s * math.sqrt(2 * math.pi))
    assert np.isclose(nll, ((y - yhat) ** 2).sum() / (2 * s * s) + const)
    w, b = np.array([0.5, -2.0]), 1.3
    assert np.isclose(-stats.laplace(0, b).logpdf(w).sum(),
                      np.abs(w).sum() / b + len(w) * math.log(2 * b))


@check
def boosting_starts_at_mean_and_fits_residuals():
    """gradient-boosting-mechanics, boosting-fits-residuals."""
    X = RNG.uniform(-3, 3, (300, 1))
    y = np.sin(X[:, 0]) + RNG.normal(0, 0.1, 300) + 5
    gb = GradientBoostingRegressor(n_estimators=1, learning_rate=0.5, max_depth=2,
                                   random_state=0).fit(X, y)
    f0 = np.full(300, y.mean())
    tree = gb.estimators_[0, 0]
    assert np.allclose(gb.predict(X), f0 + 0.5 * tree.predict(X))
    from sklearn.tree import DecisionTreeRegressor

    manual = DecisionTreeRegressor(max_depth=2, random_state=0).fit(X, y - f0)
    assert np.allclose(manual.predict(X), tree.predict(X))


@check
def svm_margin_width():
    """svm-margin-width: distance between the two margin lines is 2 / ||w||."""
    X = np.array([[0.0, 0.0], [1.0, 1.0], [3.0, 3.0], [4.0, 2.0], [0.0, 2.0], [4.0, 4.5]])
    y = np.array([0, 0, 1, 1, 0, 1])
    svm = SVC(kernel="linear", C=1e6).fit(X, y)
    w, b = svm.coef_[0], svm.intercept_[0]
    sv = svm.support_vectors_
    margins = (sv @ w + b)
    assert np.allclose(np.abs(margins), 1, atol=1e-3)
    # Distance between the hyperplanes w.x + b = 1 and = -1.
    pos = sv[margins > 0][0]
    neg = sv[margins < 0][0]
    assert np.isclose(abs((pos - neg) @ w) / np.linalg.norm(w), 2 / np.linalg.norm(w), atol=1e-3)


@check
def kernels():
    """rbf-kernel, kernel-trick, hinge-loss."""
    a, b = np.array([[1.0, 2.0]]), np.array([[0.5, -1.0]])
    assert np.isclose(rbf_kernel(a, b, gamma=0.3)[0, 0], np.exp(-0.3 * ((a - b) ** 2).sum()))
    phi = lambda x: np.array([x[0] ** 2, math.sqrt(2) * x[0] * x[1], x[1] ** 2])  # noqa: E731
    assert np.isclose((a[0] @ b[0]) ** 2, phi(a[0]) @ phi(b[0]))
    hinge = lambda y, f: max(0.0, 1 - y * f)  # noqa: E731
    assert hinge(1, 2.0) == 0 and hinge(1, 0.5) == 0.5 and hinge(-1, 0.5) == 1.5


@check
def calibration_and_auc():
    """calibration, calibration-keeps-auc, temperature-scaling, svm-probabilities."""
    X, y = make_classification(n_samples=2000, random_state=0)
    p = LogisticRegression().fit(X[:1000], y[:1000]).predict_proba(X[1000:])[:, 1]
    yt = y[1000:]
    q = p**3  # strictly increasing on [0, 1]
    assert np.isclose(roc_auc_score(yt, p), roc_auc_score(yt, q))
    assert not np.isclose(brier_score_loss(yt, p), brier_score_loss(yt, q))
    logits = np.array([[2.0, 0.5, -1.0]])
    soft = lambda z: np.exp(z) / np.exp(z).sum()  # noqa: E731
    assert soft(logits / 2).argmax() == soft(logits).argmax()
    assert soft(logits / 2).max() < soft(logits).max()  # T > 1 softens
    # Platt (sigmoid) and isotonic calibration on held-out folds both keep the ranking close
    # and improve a badly scaled model's Brier score.
    base = SVC(kernel="linear")
    for method in ("sigmoid", "isotonic"):
        cal = CalibratedClassifierCV(base, method=method, cv=5).fit(X[:1000], y[:1000])
        pc = cal.predict_proba(X[1000:])[:, 1]
        assert brier_score_loss(yt, pc) < brier_score_loss(yt, q), method


@check
def ab_sample_size_rule():
    """ab-sample-size: 2 (z_0.975 + z_0.8)^2 = 15.7."""
    k = 2 * (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) ** 2
    assert round(k, 1) == 15.7
    # Simulated power at n = 16 sigma^2 / delta^2 is about 80 %.
    sigma, delta = 1.0, 0.2
    n = int(16 * sigma**2 / delta**2)
    hits = 0
    for _ in range(2000):
        a = RNG.normal(0, sigma, n)
        b = RNG.normal(delta, sigma, n)
        hits += stats.ttest_ind(a, b).pvalue < 0.05
    assert 0.77 < hits / 2000 < 0.84, hits / 2000


@check
def peeking_inflates_false_positives():
    """ab-peeking: ten looks at a null effect -> about 19 % false positives."""
    looks, per_look, runs = 10, 100, 4000
    false_pos = 0
    for _ in range(runs):
        a = RNG.normal(size=looks * per_look)
        b = RNG.normal(size=looks * per_look)
        for k in range(1, looks + 1):
            m = k * per_look
            z = (a[:m].mean() - b[:m].mean()) / math.sqrt(2 / m)
            if abs(z) > 1.96:
                false_pos += 1
                break
    rate = false_pos / runs
    assert 0.17 < rate < 0.21, rate


@check
def multiple_metrics():
    """multiple-metrics."""
    assert round(1 - 0.95**20, 2) == 0.64 and 20 * 0.05 == 1.0


@check
def two_proportion_z_test():
    """two-proportion-z-test: z^2 equals chi-square without continuity correction."""
    x1, n1, x2, n2 = 120, 1000, 150, 1000
    p1, p2, p = x1 / n1, x2 / n2, (x1 + x2) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    chi2 = stats.chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=False)[0]
    assert np.isclose(z * z, chi2)


@check
def impurity_importance_favours_random_ids():
    """impurity-importance-bias: a useless id outscores a useless binary feature under MDI."""
    X, y = make_classification(n_samples=1000, n_features=2, n_informative=2, n_redundant=0,
                               flip_y=0.3, random_state=0)
    rng = np.random.default_rng(0)
    coin = rng.integers(0, 2, (1000, 1)).astype(float)  # useless, two values
    ident = rng.permutation(1000).reshape(-1, 1).astype(float)  # useless, 1,000 values
    Xi = np.hstack([X, coin, ident])
    Xtr, Xte, ytr, yte = train_test_split(Xi, y, random_state=0)
    rf = RandomForestClassifier(n_estimators=100, random_state=0).fit(Xtr, ytr)
    perm = permutation_importance(rf, Xte, yte, n_repeats=10, random_state=0)
    mdi = rf.feature_importances_
    assert mdi[3] > 0.1 and mdi[3] > 5 * mdi[2], mdi
    assert perm.importances_mean[3] < 0.03 < perm.importances_mean[0], perm.importances_mean


@check
def shapley_values_add_up():
    """shap-additivity, shapley-value: exact interventional Shapley values on a small model."""
    X, y = make_classification(n_samples=200, n_features=4, random_state=0)
    model = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    f = lambda data: model.predict_proba(data)[:, 1]  # noqa: E731
    background, x, features = X[:100], X[150], range(4)

    def value(subset):
        data = background.copy()
        data[:, list(subset)] = x[list(subset)]
        return f(data).mean()

    phi = []
    for j in features:
        others = [k for k in features if k != j]
        total = 0.0
        for size in range(len(others) + 1):
            for s in itertools.combinations(others, size):
                weight = math.factorial(size) * math.factorial(3 - size) / math.factorial(4)
                total += weight * (value(s + (j,)) - value(s))
        phi.append(total)
    assert np.isclose(sum(phi), f(x[None])[0] - f(background).mean())
    # The weights are the share of feature orders in which exactly S precedes j.
    for j in features:
        by_order = np.mean([value(order[:order.index(j) + 1]) - value(order[:order.index(j)])
                            for order in itertools.permutations(features)])
        assert np.isclose(by_order, phi[j])


# advanced --------------------------------------------------------------------------
@check
def feature_selection_before_cv_leaks():
    """split-before-preprocessing: ESL 7.10.2's experiment on pure noise."""
    X = RNG.normal(size=(50, 5000))
    y = np.array([0, 1] * 25)
    top = SelectKBest(f_classif, k=100).fit(X, y).get_support()
    wrong = cross_val_score(KNeighborsClassifier(1), X[:, top], y, cv=5).mean()
    right = cross_val_score(make_pipeline(SelectKBest(f_classif, k=100),
                                          KNeighborsClassifier(1)), X, y, cv=5).mean()
    assert wrong > 0.85 and right < 0.7, (wrong, right)


@check
def sigmoid_gradients_vanish():
    """sigmoid-vanishing-gradient: derivative at most 0.25, products shrink with depth."""
    z = np.linspace(-10, 10, 10001)
    s = 1 / (1 + np.exp(-z))
    assert np.isclose((s * (1 - s)).max(), 0.25)
    assert 0.25**20 < 1e-12


@check
def he_initialisation_keeps_scale():
    """xavier-vs-he-init: through 50 ReLU layers He keeps the scale, Xavier shrinks it."""
    n = 256
    x = RNG.normal(size=(500, n))
    h_he, h_xa = x, x
    for _ in range(50):
        h_he = np.maximum(0, h_he @ RNG.normal(0, math.sqrt(2 / n), (n, n)))
        h_xa = np.maximum(0, h_xa @ RNG.normal(0, math.sqrt(2 / (n + n)), (n, n)))
    ratio_he = np.mean(h_he**2) / np.mean(x**2)
    ratio_xa = np.mean(h_xa**2) / np.mean(x**2)
    assert 0.2 < ratio_he < 5 and ratio_xa < 1e-10, (ratio_he, ratio_xa)


@check
def normalisation_axes():
    """normalisation-axes, normalisation-gamma-beta."""
    a = RNG.normal(3, 2, (8, 5))
    bn = (a - a.mean(axis=0)) / a.std(axis=0)
    ln = (a - a.mean(axis=1, keepdims=True)) / a.std(axis=1, keepdims=True)
    assert np.allclose(bn.mean(axis=0), 0) and np.allclose(bn.std(axis=0), 1)
    assert np.allclose(ln.mean(axis=1), 0) and np.allclose(ln.std(axis=1), 1)
    gamma, beta = a.std(axis=0), a.mean(axis=0)
    assert np.allclose(gamma * bn + beta, a)


@check
def attention_facts():
    """attention-scaling-variance, positional-encoding, causal-mask, the attention formula."""
    for d in (16, 64, 256):
        q = RNG.normal(size=(20000, d))
        k = RNG.normal(size=(20000, d))
        var = (q * k).sum(axis=1).var()
        assert abs(var / d - 1) < 0.05, (d, var)

    def attention(Q, K, V, causal=False):
        s = Q @ K.T / math.sqrt(K.shape[1])
        if causal:
            s = np.where(np.tril(np.ones_like(s)) == 1, s, -np.inf)
        w = np.exp(s - s.max(axis=1, keepdims=True))
        return (w / w.sum(axis=1, keepdims=True)) @ V

    X = RNG.normal(size=(6, 8))
    Wq, Wk, Wv = (RNG.normal(size=(8, 8)) for _ in range(3))
    perm = RNG.permutation(6)
    out = attention(X @ Wq, X @ Wk, X @ Wv)
    out_perm = attention(X[perm] @ Wq, X[perm] @ Wk, X[perm] @ Wv)
    assert np.allclose(out[perm], out_perm)  # permutation-equivariant without positions
    # Causal: changing a later token does not change earlier outputs.
    Y = X.copy()
    Y[5] += 10
    a = attention(X @ Wq, X @ Wk, X @ Wv, causal=True)
    b = attention(Y @ Wq, Y @ Wk, Y @ Wv, causal=True)
    assert np.allclose(a[:5], b[:5]) and not np.allclose(a[5], b[5])
    # Sinusoidal encoding as in the paper.
    d, pos = 8, np.arange(50)[:, None]
    i = np.arange(d // 2)[None, :]
    pe = np.zeros((50, d))
    pe[:, 0::2] = np.sin(pos / 10000 ** (2 * i / d))
    pe[:, 1::2] = np.cos(pos / 10000 ** (2 * i / d))
    assert np.allclose(pe[0, 1::2], 1) and np.allclose(pe[0, 0::2], 0)
    # PE(pos + k) is a fixed linear function (a rotation) of PE(pos).
    k = 3
    M = np.linalg.lstsq(pe[:40], pe[k:40 + k], rcond=None)[0]
    assert np.allclose(pe[:40] @ M, pe[k:40 + k], atol=1e-8)


@check
def toy_bpe():
    """byte-pair-encoding: merge the most frequent adjacent pair, repeatedly."""
    words = Counter({("l", "o", "w"): 5, ("l", "o", "w", "e", "r"): 2,
                     ("n", "e", "w", "e", "s", "t"): 6, ("w", "i", "d", "e", "s", "t"): 3})
    merges = []
    for _ in range(4):
        pairs = Counter()
        for word, freq in words.items():
            for pair in zip(word, word[1:], strict=False):
                pairs[pair] += freq
        best = max(pairs, key=lambda p: (pairs[p], p))
        merges.append(best)
        merged = Counter()
        for word, freq in words.items():
            out, i = [], 0
            while i < len(word):
                if word[i:i + 2] == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += freq
        words = merged
    # Sennrich et al.'s example: four merges make "est" and "low" single symbols, so the
    # frequent words are short and every word can still be spelled from the pieces.
    symbols = {s for word in words for s in word}
    assert {"est", "low"} <= symbols, (merges, symbols)
    assert ("low",) in words and ("n", "e", "w", "est") in words, words


@check
def cosine_and_euclidean():
    """cosine-similarity, cosine-vs-euclidean."""
    A = RNG.normal(size=(50, 16))
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    q = A[0]
    cos = A @ q
    assert np.allclose(cosine_similarity(A, q[None])[:, 0], cos)
    d2 = ((A - q) ** 2).sum(axis=1)
    assert np.allclose(d2, 2 - 2 * cos)
    assert (np.argsort(-cos) == np.argsort(d2)).all()


@check
def lda_components():
    """lda-max-components: at most C - 1 components."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    X, y = make_classification(n_samples=300, n_features=10, n_informative=5, n_classes=3,
                               random_state=0)
    assert LinearDiscriminantAnalysis().fit(X, y).transform(X).shape[1] == 2
    try:
        LinearDiscriminantAnalysis(n_components=3).fit(X, y)
    except ValueError:
        pass
    else:
        raise AssertionError("n_components > C - 1 was accepted")


def main() -> int:
    """Run every check; exit 1 on the first failure."""
    for func in CHECKS:
        func()
        print(f"ok  {func.__name__:45} {func.__doc__.splitlines()[0]}")
    print(f"all {len(CHECKS)} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
