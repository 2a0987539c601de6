"""Bundled improve tasks with headroom: shapes the first three tasks lack.

Called by ``make_bundled_tasks.py``. Each task is generated with numpy (or from
``load_digits``, which ships inside scikit-learn), then scored offline by reference models on
its hidden test set, and its leaderboard lines are placed from those scores.
How the lines are placed is in ``bundled_references.py``.

Recorded when generated (``--check-baseline`` runs ``baseline_program``: HistGradientBoosting
on the raw columns, refit on all training rows; its grade equals the ``baseline`` reference
below). Higher is better for AUC and accuracy, lower for log loss, RMSE and MAE:

================  ==================  =========  ========  ============  ======  ======  ======
task              metric              train+test baseline  best default  strong  bronze  gold
================  ==================  =========  ========  ============  ======  ======  ======
card-fraud        auc-roc             3500+1500  0.7826    0.8212 (LR)   0.8717  0.8472  0.8708
land-cover        multi-class-log-l.  2000+1000  1.4998    1.1474 (LR)   1.0626  1.1138  1.0650
noisy-digits      accuracy            1078+719   0.7010    0.8011 (SVM)  0.9026  0.8540  0.9012
building-energy   rmse                2100+900   101.40    97.26 (RF)    49.59   77.47   49.66
crop-yield-sites  mae                 2044+961   0.7663    0.5822 (rdg)  0.3587  0.4767  0.3708
================  ==================  =========  ========  ============  ======  ======  ======

Medians: card-fraud 0.7719, land-cover 1.2324, noisy-digits 0.7107, building-energy 144.94,
crop-yield-sites 0.7979. On crop-yield-sites the baseline's own random-split validation says
MAE 0.38; on the unseen test sites it is 0.77.

(The table is refreshed by hand from the script's printout; the leaderboards are the truth.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from bundled_references import Reference, constant, defaults, logistic, model, place_lines, ridge
from make_bundled_tasks import _split, _write_improve
from sklearn.datasets import load_digits
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

# --- card-fraud: imbalanced binary, ROC AUC ------------------------------------------------

MERCHANTS = ["grocery", "fuel", "travel", "electronics", "gaming", "restaurant", "pharmacy"]


def _fraud_features(d: pd.DataFrame) -> pd.DataFrame:
    out = d.copy()
    out["log_ratio"] = np.log(d["amount"] / d["customer_avg_amount"])
    night = ((d["hour"] <= 4) | (d["hour"] >= 23)).astype(int)
    out["night_new_device"] = night * d["new_device"]
    out["far_foreign"] = d["foreign_card"] * (d["distance_km"] > 200)
    out["log_age"] = np.log(d["account_age_days"])
    out["risky_merchant"] = d["merchant_category"].isin(["electronics", "gaming"]).astype(int)
    return out.drop(columns=["merchant_category", "hour"])


def make_card_fraud() -> None:
    rng = np.random.default_rng(11)
    n = 5000
    customer = np.exp(rng.normal(3.5, 0.8, n))
    ratio = np.exp(rng.normal(0.0, 0.7, n))
    age = np.exp(rng.uniform(np.log(5), np.log(3000), n))
    hour = rng.integers(0, 24, n)
    new_device = (rng.random(n) < 0.15).astype(int)
    distance = np.exp(rng.normal(3.0, 1.5, n))
    foreign = (rng.random(n) < 0.1).astype(int)
    merchant = rng.choice(MERCHANTS, n, p=[0.25, 0.15, 0.08, 0.1, 0.07, 0.2, 0.15])
    recent = rng.poisson(2.0, n)
    night = (hour <= 4) | (hour >= 23)
    logit = (
        -4.4
        + 2.0 * np.clip(np.log(ratio), -1, 3)
        + 2.2 * night * new_device
        + 1.8 * foreign * (distance > 200)
        + 1.0 * np.isin(merchant, ["electronics", "gaming"])
        - 0.5 * np.clip(np.log(age / 100), -3, 3)
        + 0.35 * np.maximum(recent - 3, 0)
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    df = pd.DataFrame(
        {
            "id": np.arange(n) + 700_000,
            "amount": (customer * ratio).round(2),
            "customer_avg_amount": customer.round(2),
            "account_age_days": age.round(0),
            "hour": hour,
            "new_device": new_device,
            "distance_km": distance.round(1),
            "foreign_card": foreign,
            "merchant_category": merchant,
            "tx_last_24h": recent,
        }
    )
    for i in range(4):
        df[f"v{i}"] = rng.normal(size=n).round(4)
    df["is_fraud"] = y
    tr, te = _split(n, 0.3, seed=12)
    train = df.iloc[tr].reset_index(drop=True)
    test = df.iloc[te].drop(columns="is_fraud").reset_index(drop=True)
    answers = df.iloc[te][["id", "is_fraud"]].reset_index(drop=True)
    sample = pd.DataFrame({"id": answers["id"], "is_fraud": 0.5})
    features = [c for c in test.columns if c != "id"]
    refs = defaults("binary") + [
        Reference("logistic-engineered", model(logistic, "proba1", _fraud_features), False)
    ]
    lb = place_lines(
        "card-fraud",
        "auc-roc",
        refs,
        train[features],
        train["is_fraud"].to_numpy(),
        test[features],
        answers["is_fraud"].to_numpy(),
        n_teams=640,
        seed=13,
    )
    config = """\
id: card-fraud
name: Card Fraud (imbalanced, ranked by ROC AUC)
kind: improve
competition_type: simple
awards_medals: true
description: description.md
dataset:
  answers: private/answers.csv
  sample_submission: public/sample_submission.csv
grader:
  name: auc-roc
lower_is_better: false
id_column: id
target_columns: [is_fraud]
"""
    description = f"""\
# Card Fraud

Rank card transactions by how likely they are to be fraudulent. Fraud is rare: about
{100 * y.mean():.0f}% of transactions. Each row is one transaction with what the card issuer
knows at authorisation time: the amount, the customer's usual amount, the account's age, the
hour, whether the device and the card's country are new or foreign, the distance from the
customer's home, the merchant's category and the number of transactions in the last 24 hours.
Fraud shows in how a transaction compares with the customer's habits and in combinations of
signals, more than in any single raw column; `v0`..`v3` are anonymised columns.

## Data

- `public/train.csv`: `id`, the feature columns and `is_fraud` (1 = fraud), {len(train)} rows.
- `public/test.csv`: `id` and the feature columns, {len(test)} rows.
- `public/sample_submission.csv`: the submission format.

## Evaluation

**Area under the ROC curve** between the predicted score and the true label. Only the order of
the scores matters. Higher is better.

## Submission format

`submission.csv` with columns `id,is_fraud`, one row per test `id`; `is_fraud` is a
probability (or any score that ranks rows) that the transaction is fraud.
"""
    _write_improve("card-fraud", train, test, answers, sample, config, description, lb)


# --- land-cover: multi-class probabilities, log loss ---------------------------------------

COVERS = ["conifer", "deciduous", "grassland", "shrub", "wetland"]


def _cover_features(d: pd.DataFrame) -> pd.DataFrame:
    out = pd.get_dummies(d, columns=["soil"], dtype=float)
    aspect = np.deg2rad(d["aspect"])
    slope = (d["slope"] - 12) / 8
    out["north"] = np.cos(aspect)
    out["east"] = np.sin(aspect)
    out["log_water"] = np.log(d["dist_water"])
    out["slope_sq"] = slope**2
    out["north_slope"] = out["north"] * slope
    return out.drop(columns=["aspect", "dist_water"])


def make_land_cover() -> None:
    rng = np.random.default_rng(21)
    n = 3000
    elevation = rng.normal(1500, 400, n)
    slope = rng.gamma(2, 6, n)
    aspect = rng.uniform(0, 360, n)
    water = np.exp(rng.normal(5, 1, n))
    rain = rng.normal(800, 200, n)
    soil = rng.choice(["clay", "loam", "sand", "peat", "rock"], n, p=[0.25, 0.3, 0.2, 0.1, 0.15])
    a = np.deg2rad(aspect)
    e, r = (elevation - 1500) / 400, (rain - 800) / 200
    w, s = np.log(water) - 5, (slope - 12) / 8
    z = np.column_stack(
        [
            1.2 * e + 0.8 * np.cos(a) + 0.5 * (soil == "sand"),
            -0.3 * e + 0.6 * r - 0.8 * np.cos(a) * s + 0.5 * (soil == "loam"),
            -1.0 * e - 0.7 * r + 0.3 * s * s,
            0.8 * s - 0.4 * r + 0.7 * (soil == "rock") + 0.6 * np.sin(a),
            -1.5 * w + 1.2 * (soil == "peat") - 0.5 * s,
        ]
    )
    p = np.exp(1.3 * z)
    p /= p.sum(axis=1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    df = pd.DataFrame(
        {
            "id": np.arange(n) + 1,
            "elevation": elevation.round(0),
            "slope": slope.round(1),
            "aspect": aspect.round(0),
            "dist_water": water.round(0),
            "rainfall": rain.round(0),
            "soil": soil,
        }
    )
    for i in range(3):
        df[f"n{i}"] = rng.normal(size=n).round(3)
    df["cover_type"] = np.array(COVERS)[y]
    tr, te = _split(n, 1 / 3, seed=22)
    train = df.iloc[tr].reset_index(drop=True)
    test = df.iloc[te].drop(columns="cover_type").reset_index(drop=True)
    y_test = y[te]
    answers = pd.DataFrame({"id": test["id"]})
    for k, c in enumerate(COVERS):
        answers[c] = (y_test == k).astype(int)
    sample = pd.DataFrame({"id": test["id"], **{c: 0.2 for c in COVERS}})
    features = [c for c in test.columns if c != "id"]
    refs = defaults("multi") + [
        Reference("logistic-engineered", model(logistic, "proba", _cover_features), False)
    ]
    lb = place_lines(
        "land-cover",
        "multi-class-log-loss",
        refs,
        train[features],
        y[tr],
        test[features],
        y_test,
        n_teams=520,
        seed=23,
    )
    config = f"""\
id: land-cover
name: Land Cover (class probabilities, multi-class log loss)
kind: improve
competition_type: simple
awards_medals: true
description: description.md
dataset:
  answers: private/answers.csv
  sample_submission: public/sample_submission.csv
grader:
  name: multi-class-log-loss
lower_is_better: true
id_column: id
target_columns: [{", ".join(COVERS)}]
"""
    description = f"""\
# Land Cover

Predict the probability of each of five land-cover types for plots of land
({", ".join(COVERS)})
from their terrain, soil and climate: `elevation` (m), `slope` (degrees), `aspect` (compass
direction the slope faces, degrees, 0 = north), `dist_water` (m to the nearest water),
`rainfall` (mm a year) and `soil` (a category). `n0`..`n2` are unrelated
measurements. Cover types overlap: the same terrain can carry several, so the best
predictions are honest probabilities, not confident labels.

## Data

- `public/train.csv`: `id`, the feature columns and `cover_type` (the class name),
  {len(train)} rows.
- `public/test.csv`: `id` and the feature columns, {len(test)} rows.
- `public/sample_submission.csv`: the submission format (every class 0.2).

## Evaluation

**Multi-class log loss**: the mean of -log(p) of each row's true class. Each row's
probabilities are clipped away from 0 and 1 (by machine epsilon, about 2.2e-16) and rescaled
to sum to 1. Lower is better; predicting 0 for the true class costs about 36 on that row.

## Submission format

`submission.csv` with columns `id,{",".join(COVERS)}`, one row per test
`id`, each class column the predicted probability of that class.
"""
    _write_improve("land-cover", train, test, answers, sample, config, description, lb)


# --- noisy-digits: ten classes, accuracy ---------------------------------------------------


def _shift(images: np.ndarray, dx: int, dy: int) -> np.ndarray:
    return np.roll(np.roll(images, dx, axis=2), dy, axis=1)


def _svc_augmented(train: pd.DataFrame, y: np.ndarray, test: pd.DataFrame) -> np.ndarray:
    """An RBF SVM trained on the training images and their one-pixel shifts."""
    images = train.to_numpy().reshape(-1, 8, 8)
    moved = [_shift(images, dx, dy) for dx, dy in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))]
    x = np.vstack([m.reshape(-1, 64) for m in moved])
    model = SVC(C=10, gamma="scale").fit(x, np.tile(y, len(moved)))
    return np.asarray(model.predict(test.to_numpy()))


def make_noisy_digits() -> None:
    digits = load_digits()
    images, y = digits.images, digits.target
    n = len(y)
    rng = np.random.default_rng(31)
    moved = np.empty_like(images)
    for i in range(n):  # each scan is off-centre by up to a pixel, its contrast varies
        dx, dy = rng.integers(-1, 2, 2)
        moved[i] = _shift(images[i : i + 1], int(dx), int(dy))[0]
    noisy = moved * rng.uniform(0.6, 1.4, (n, 1, 1)) + rng.normal(0, 1.5, moved.shape)
    pixels = [f"p{r}{c}" for r in range(8) for c in range(8)]
    df = pd.DataFrame(noisy.reshape(n, 64).round(2), columns=pixels)
    df.insert(0, "id", np.arange(n) + 3000)
    df["digit"] = y
    tr, te = _split(n, 0.4, seed=32)
    train = df.iloc[tr].reset_index(drop=True)
    test = df.iloc[te].drop(columns="digit").reset_index(drop=True)
    answers = df.iloc[te][["id", "digit"]].reset_index(drop=True)
    sample = pd.DataFrame({"id": answers["id"], "digit": 0})
    refs = defaults("labels") + [
        Reference("svm", model(lambda: make_pipeline(StandardScaler(), SVC()), "label"), True),
        Reference("svm-shift-augmented", _svc_augmented, False),
    ]
    lb = place_lines(
        "noisy-digits",
        "accuracy",
        refs,
        train[pixels],
        train["digit"].to_numpy(),
        test[pixels],
        answers["digit"].to_numpy(),
        n_teams=450,
        seed=33,
        quantum=1 / len(answers),
    )
    config = """\
id: noisy-digits
name: Noisy Digits (ten classes, accuracy)
kind: improve
competition_type: simple
awards_medals: true
description: description.md
dataset:
  answers: private/answers.csv
  sample_submission: public/sample_submission.csv
grader:
  name: accuracy
lower_is_better: false
id_column: id
target_columns: [digit]
"""
    description = f"""\
# Noisy Digits

Recognise handwritten digits 0-9 from 8x8 grey-level scans (the UCI optical digits, as
bundled with scikit-learn), rescanned badly: each image is shifted off-centre by up to one
pixel in each direction, its contrast varies, and every pixel carries sensor noise. Column
`pRC` is the pixel in row `R`, column `C` (0-7, top-left first); clean pixels range 0-16,
noisy ones a little beyond.

## Data

- `public/train.csv`: `id`, `p00`..`p77` and `digit` (0-9), {len(train)} rows.
- `public/test.csv`: `id`, `p00`..`p77`, {len(test)} rows.
- `public/sample_submission.csv`: the submission format.

## Evaluation

**Accuracy**: the fraction of test rows whose predicted `digit` is the true one. Higher is
better.

## Submission format

`submission.csv` with columns `id,digit`, one row per test `id`, `digit` an integer 0-9.
"""
    _write_improve("noisy-digits", train, test, answers, sample, config, description, lb)


# --- building-energy: regression where the physics matters, RMSE ---------------------------


def _energy_features(d: pd.DataFrame) -> pd.DataFrame:
    out = d.copy()
    heating = np.maximum(18 - d["outdoor_temp"], 0)
    cooling = np.maximum(d["outdoor_temp"] - 22, 0)
    out["envelope"] = (d["wall_area"] - d["window_area"]) * d["u_value"] + d["window_area"] * 2.8
    out["heat_loss"] = out["envelope"] * heating
    out["solar_gain"] = d["window_area"] * cooling
    out["open_area"] = d["floor_area"] * np.where(d["weekday"] >= 5, 0.45, 1.0)
    out["seasonal_people"] = d["occupants"] * np.sin(2 * np.pi * d["day_of_year"] / 365)
    return out


def make_building_energy() -> None:
    rng = np.random.default_rng(41)
    n = 3000
    area = np.exp(rng.normal(7, 0.6, n))
    floors = rng.integers(1, 9, n)
    wall = 4 * np.sqrt(area / floors) * 3.2 * floors  # perimeter of a square floor x height
    window = wall * rng.beta(2, 4, n)
    u_value = rng.uniform(0.2, 1.6, n)
    day = rng.integers(1, 366, n)
    temp = 10 - 11 * np.cos(2 * np.pi * (day - 15) / 365) + rng.normal(0, 4, n)
    weekday = rng.integers(0, 7, n)
    occupants = rng.uniform(0.01, 0.08, n) * area
    envelope = (wall - window) * u_value + window * 2.8  # heat loss, W per kelvin
    energy = (
        0.024 * envelope * np.maximum(18 - temp, 0)
        + 0.075 * window * np.maximum(temp - 22, 0)
        + 0.09 * area * np.where(weekday >= 5, 0.45, 1.0)
        + 0.7 * occupants * (1 + 0.3 * np.sin(2 * np.pi * day / 365))
    ) * np.exp(rng.normal(0, 0.08, n))
    df = pd.DataFrame(
        {
            "id": np.arange(n) + 100,
            "floor_area": area.round(0),
            "floors": floors,
            "wall_area": wall.round(0),
            "window_area": window.round(0),
            "u_value": u_value.round(2),
            "day_of_year": day,
            "weekday": weekday,
            "outdoor_temp": temp.round(1),
            "occupants": occupants.round(0),
            "energy_kwh": energy.round(2),
        }
    )
    tr, te = _split(n, 0.3, seed=42)
    train = df.iloc[tr].reset_index(drop=True)
    test = df.iloc[te].drop(columns="energy_kwh").reset_index(drop=True)
    answers = df.iloc[te][["id", "energy_kwh"]].reset_index(drop=True)
    sample = pd.DataFrame({"id": answers["id"], "energy_kwh": round(train["energy_kwh"].mean(), 2)})
    features = [c for c in test.columns if c != "id"]
    refs = defaults("regression") + [
        Reference(
            "ridge-engineered",
            model(
                lambda: make_pipeline(StandardScaler(), Ridge(alpha=0.1)), "value", _energy_features
            ),
            False,
        )
    ]
    lb = place_lines(
        "building-energy",
        "root-mean-squared-error",
        refs,
        train[features],
        train["energy_kwh"].to_numpy(),
        test[features],
        answers["energy_kwh"].to_numpy(),
        n_teams=380,
        seed=43,
    )
    config = """\
id: building-energy
name: Building Energy (daily consumption, RMSE)
kind: improve
competition_type: simple
awards_medals: true
description: description.md
dataset:
  answers: private/answers.csv
  sample_submission: public/sample_submission.csv
grader:
  name: root-mean-squared-error
lower_is_better: true
id_column: id
target_columns: [energy_kwh]
"""
    description = f"""\
# Building Energy

Predict the energy an office building uses in a day (`energy_kwh`), from the building and the
day: `floor_area` (m2), `floors`, `wall_area` and `window_area` (m2 of facade, windows
included in the wall area), `u_value` (W/m2K, how much heat the walls let through),
`day_of_year` (1-365), `weekday` (0 = Monday), `outdoor_temp` (daily mean, C) and
`occupants`. Buildings are heated below about 18 C and cooled above about 22 C; heat is lost
through walls and (more) through windows; weekends are quieter. Consumption scales with the
size of the building, so a few large buildings dominate the error of a careless model.
Measurements carry a few percent of noise.

## Data

- `public/train.csv`: `id`, the feature columns and `energy_kwh`, {len(train)} rows.
- `public/test.csv`: `id` and the feature columns, {len(test)} rows.
- `public/sample_submission.csv`: the submission format (every prediction the train mean).

## Evaluation

**Root mean squared error** between predicted and true `energy_kwh`. Lower is better.

## Submission format

`submission.csv` with columns `id,energy_kwh`, one row per test `id`, numeric predictions.
"""
    _write_improve("building-energy", train, test, answers, sample, config, description, lb)


# --- crop-yield-sites: unseen groups in the test set, MAE ----------------------------------


def _site_features(d: pd.DataFrame) -> pd.DataFrame:
    out = d.copy()
    site_mean = d.groupby("site_id")["soil_moisture"].transform("mean")
    out["moisture_dev"] = d["soil_moisture"] - site_mean
    out["moisture_dev_dry"] = out["moisture_dev"] * (1 - d["irrigated"])
    out["fert_saturation"] = 1 - np.exp(-d["fertilizer"] / 70)
    out["ph_sq"] = (d["soil_ph"] - 6.5) ** 2
    out["density_sq"] = (d["seed_density"] - 8.5) ** 2
    return out.drop(columns="site_id")


def make_crop_yield_sites() -> None:
    rng = np.random.default_rng(51)
    frames = []
    for s in range(80):
        m = int(rng.integers(20, 56))
        lat, elev, ph = rng.uniform(35, 55), rng.gamma(2, 200), rng.normal(6.5, 0.6)
        base_moisture = rng.uniform(15, 45)
        site_effect = (
            -0.08 * (lat - 45) - 0.0015 * (elev - 400) - 0.9 * (ph - 6.5) ** 2
        ) + rng.normal(0, 0.35)  # weather, management: nothing in the data explains it
        fert = rng.uniform(0, 200, m)
        irrigated = rng.integers(0, 2, m)
        density = rng.uniform(5, 12, m)
        moisture = base_moisture + rng.normal(0, 5, m)
        crop = (
            6
            + site_effect
            + 1.6 * (1 - np.exp(-fert / 70))
            + 0.12 * (moisture - base_moisture) * (1 - 0.7 * irrigated)
            + 0.5 * irrigated
            - 0.04 * (density - 8.5) ** 2
            + rng.normal(0, 0.35, m)
        )
        frames.append(
            pd.DataFrame(
                {
                    "site_id": f"site_{s:03d}",
                    "latitude": round(lat, 3),
                    "elevation": round(elev, 0),
                    "soil_ph": round(ph, 2),
                    "fertilizer": fert.round(1),
                    "irrigated": irrigated,
                    "seed_density": density.round(2),
                    "soil_moisture": moisture.round(1),
                    "yield_t_ha": crop.round(3),
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    order = np.random.default_rng(52).permutation(len(df))
    df = df.iloc[order].reset_index(drop=True)
    df.insert(0, "id", np.arange(len(df)) + 20_000)
    sites = np.sort(df["site_id"].unique())
    test_sites = set(np.random.default_rng(53).choice(sites, 25, replace=False))
    is_test = df["site_id"].isin(test_sites).to_numpy()
    train = df[~is_test].reset_index(drop=True)
    test = df[is_test].drop(columns="yield_t_ha").reset_index(drop=True)
    answers = df[is_test][["id", "yield_t_ha"]].reset_index(drop=True)
    sample = pd.DataFrame(
        {"id": answers["id"], "yield_t_ha": round(train["yield_t_ha"].median(), 3)}
    )
    features = [c for c in test.columns if c != "id"]
    refs = defaults("regression") + [
        Reference("median", constant("median"), False),
        Reference("ridge-site-features", model(ridge, "value", _site_features), False),
    ]
    lb = place_lines(
        "crop-yield-sites",
        "mean-absolute-error",
        refs,
        train[features],
        train["yield_t_ha"].to_numpy(),
        test[features],
        answers["yield_t_ha"].to_numpy(),
        n_teams=700,
        seed=54,
    )
    config = """\
id: crop-yield-sites
name: Crop Yield at Unseen Sites (grouped rows, MAE)
kind: improve
competition_type: simple
awards_medals: true
description: description.md
dataset:
  answers: private/answers.csv
  sample_submission: public/sample_submission.csv
grader:
  name: mean-absolute-error
lower_is_better: true
id_column: id
target_columns: [yield_t_ha]
group_column: site_id
"""
    description = f"""\
# Crop Yield at Unseen Sites

Predict the yield (`yield_t_ha`, tonnes per hectare) of field plots from trial sites. Each
row is one plot; `site_id` names the site it belongs to. A site's plots share its
`latitude`, `elevation` and `soil_ph`; per plot there are `fertilizer` (kg/ha), `irrigated`
(0/1), `seed_density` and `soil_moisture` (%). Sites differ in their usual moisture, and
much of a site's level comes from weather and management that no column records.

**The test plots come from {len(test_sites)} sites that do not appear in the training
data** (which holds {train["site_id"].nunique()} other sites). A model validated on a random
split of the training rows sees every site on both sides and looks far better than it is on
new sites; validate with whole sites held out (`site_id` groups), and prefer features that
carry over to a site never seen before (a plot compared with the rest of its own site, say).

## Data

- `public/train.csv`: `id`, `site_id`, the feature columns and `yield_t_ha`, {len(train)} rows.
- `public/test.csv`: `id`, `site_id` and the feature columns, {len(test)} rows.
- `public/sample_submission.csv`: the submission format (every prediction the train median).

## Evaluation

**Mean absolute error** between predicted and true `yield_t_ha`. Lower is better.

## Submission format

`submission.csv` with columns `id,yield_t_ha`, one row per test `id`, numeric predictions.
"""
    _write_improve("crop-yield-sites", train, test, answers, sample, config, description, lb)


MAKERS = {
    "card-fraud": make_card_fraud,
    "land-cover": make_land_cover,
    "noisy-digits": make_noisy_digits,
    "building-energy": make_building_energy,
    "crop-yield-sites": make_crop_yield_sites,
}
