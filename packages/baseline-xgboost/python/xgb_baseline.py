"""The GBDT baseline's XGBoost side, driven by @esm2/baseline-xgboost.

Usage: python3 xgb_baseline.py JOB.json
The job names raw float32 matrices (little-endian, row-major, NaN = missing)
written by the TypeScript side; this script trains or predicts and prints one
JSON line (the result) on stdout. Errors go to stderr; exit 3 means numpy or
xgboost cannot be imported, any other non-zero exit is a failure.
"""
import json
import os
import sys
import traceback

SUMMARY = "xgb_baseline error: "

try:
    import numpy as np
    import xgboost as xgb
except ImportError as e:  # the caller turns exit 3 into "apt-get install python3-xgboost"
    print(f"cannot import: {e}", file=sys.stderr)
    sys.exit(3)


def load_matrix(spec, cols):
    x = np.fromfile(spec["x"], dtype="<f4")
    rows = spec["rows"]
    if x.size != rows * cols:
        raise ValueError(f"{spec['x']}: {x.size} values, expected {rows} rows x {cols} columns")
    return x.reshape(rows, cols)


def load_vector(path, rows):
    v = np.fromfile(path, dtype="<f4")
    if v.size != rows:
        raise ValueError(f"{path}: {v.size} values, expected {rows}")
    return v


def dmatrix(x, label, job):
    return xgb.DMatrix(
        x,
        label=label,
        missing=np.nan,
        feature_names=[c["name"] for c in job["columns"]],
        feature_types=[c["type"] for c in job["columns"]],
        enable_categorical=True,
        nthread=job["params"]["nthread"],
    )


def booster_params(p):
    return {
        "objective": "binary:logistic",
        "eval_metric": "logloss",
        "tree_method": "hist",
        "max_depth": p["maxDepth"],
        "eta": p["eta"],
        "min_child_weight": p["minChildWeight"],
        "subsample": p["subsample"],
        "colsample_bytree": p["colsampleBytree"],
        "max_bin": p["maxBin"],
        "max_cat_to_onehot": p["maxCatToOnehot"],
        "seed": p["seed"],
        "nthread": p["nthread"],
    }


def save_durably(booster, path):
    booster.save_model(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def train_one(task, x, label, valid, job):
    """One binary model; early stopping on the validation logloss when a validation set is given."""
    p = job["params"]
    if x.shape[0] == 0:
        raise ValueError(f"{task}: no training rows" + (" (no clicked impressions in the training data)" if task == "cvr" else ""))
    dtrain = dmatrix(x, label, job)
    evals = [(dtrain, "train")]
    stop = None
    if valid is not None:
        vx, vlabel = valid
        if vx.shape[0] == 0:
            raise ValueError(f"{task}: the validation data has no rows for this model" + (" (no clicked impressions)" if task == "cvr" else "") + "; early stopping is impossible")
        evals.append((dmatrix(vx, vlabel, job), "valid"))
        stop = p["earlyStoppingRounds"]
    # XGBoost 1.7 starts every model at 0.5; starting at the training rate spares the first
    # rounds (and early stopping) the walk to a 1 % prior.
    base_score = float(np.clip(label.mean(), 1e-6, 1 - 1e-6))
    history = {}
    booster = xgb.train(
        {**booster_params(p), "base_score": base_score},
        dtrain,
        num_boost_round=p["numRounds"],
        evals=evals,
        evals_result=history,
        early_stopping_rounds=stop,
        verbose_eval=False,
    )
    rounds = booster.num_boosted_rounds()
    best = booster.best_iteration if stop is not None else rounds - 1
    save_durably(booster, os.path.join(job["outDir"], f"{task}.model.json"))
    return {
        "trainRows": int(x.shape[0]),
        "trainPositives": int(label.sum()),
        "baseScore": base_score,
        "validRows": int(valid[0].shape[0]) if valid is not None else None,
        "rounds": int(rounds),
        "bestIteration": int(best),
        "trainLogloss": [float(v) for v in history["train"]["logloss"]],
        "validLogloss": [float(v) for v in history["valid"]["logloss"]] if valid is not None else None,
    }


def train(job):
    cols = len(job["columns"])
    t = job["train"]
    x = load_matrix(t, cols)
    click = load_vector(t["click"], t["rows"])
    buy = load_vector(t["buy"], t["rows"])
    valid_ctr = valid_cvr = None
    if job.get("valid"):
        v = job["valid"]
        vx = load_matrix(v, cols)
        vclick = load_vector(v["click"], v["rows"])
        vbuy = load_vector(v["buy"], v["rows"])
        valid_ctr = (vx, vclick)
        valid_cvr = (vx[vclick == 1], vbuy[vclick == 1])
    clicked = click == 1
    return {
        "xgboostVersion": xgb.__version__,
        "ctr": train_one("ctr", x, click, valid_ctr, job),
        "cvr": train_one("cvr", x[clicked], buy[clicked], valid_cvr, job),
    }


def predict(job):
    x = load_matrix(job["features"], len(job["columns"]))
    d = dmatrix(x, None, job)
    for task in ("ctr", "cvr"):
        booster = xgb.Booster(model_file=os.path.join(job["modelDir"], f"{task}.model.json"))
        booster.set_param("nthread", job["params"]["nthread"])
        best = job["bestIteration"][task]
        p = booster.predict(d, iteration_range=(0, best + 1)).astype("<f4")
        p.tofile(job["out"][task])
    return {"xgboostVersion": xgb.__version__, "rows": int(x.shape[0])}


def main():
    try:
        with open(sys.argv[1], encoding="utf-8") as f:
            job = json.load(f)
        result = train(job) if job["mode"] == "train" else predict(job)
    except Exception as e:  # the traceback, then one summary line the caller shows (XGBoost's C++ backtrace cut off)
        traceback.print_exc(file=sys.stderr)
        message = str(e).split("\nStack trace:")[0].strip()
        print(f"{SUMMARY}{type(e).__name__}: {message}", file=sys.stderr)
        sys.exit(1)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
