"""Evaluation config files: YAML and TOML, paths relative to the file, errors that name the culprit."""

from __future__ import annotations

import pytest
import yaml

from freeaction.errors import InputError
from freeaction.eval.config import load_eval_config
from freeaction.method import GaussianNoise, NegatedCFG


def write(tmp_path, name="eval.yaml", **kw):
    (tmp_path / "ckpt").mkdir(exist_ok=True)
    (tmp_path / "data").mkdir(exist_ok=True)
    base = {"checkpoint": "ckpt", "dataset": "data", "methods": ["unguided", "freeaction"]}
    base.update(kw)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(base))
    return path


def test_yaml_and_toml_give_the_same_config(tmp_path):
    y = load_eval_config(write(tmp_path, seeds=[3, 5], clips=4, protocols=["short", "long"]))
    (tmp_path / "eval.toml").write_text(
        'checkpoint = "ckpt"\ndataset = "data"\nseeds = [3, 5]\nclips = 4\nprotocols = ["short", "long"]\n'
        'methods = ["unguided", "freeaction"]\n'
    )
    t = load_eval_config(tmp_path / "eval.toml")
    assert {**y.to_dict(), "source": ""} == {**t.to_dict(), "source": ""}
    assert y.seed_list == [3, 5] and y.checkpoint == str(tmp_path / "ckpt")  # relative to the file
    assert load_eval_config(write(tmp_path, seeds=3)).seed_list == [0, 1, 2]


def test_methods_expand_standard_names_and_keep_custom_ones(tmp_path):
    cfg = load_eval_config(write(tmp_path, methods=[
        "unguided", {"name": "freeaction"}, {"name": "w2", "guidance": {"type": "negated", "scale": 2.0}}]))
    d = {m.name: m for m, _ in cfg.parse_methods()}
    assert d["freeaction"].guidance.type == "freeaction"
    assert d["freeaction"].truncation.type == "action_scaled"
    assert d["w2"].guidance == NegatedCFG(scale=2.0) and d["w2"].truncation == GaussianNoise()
    assert d["w2"].to_dict()["guidance"] == {"type": "negated", "scale": 2.0, "window": [0.0, 1.0], "negate_dims": None}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"checkpoint": "nope.pt"}, r"'checkpoint' names .*nope\.pt, which does not exist"),
        ({"idm": "idm.safetensors"}, r"'idm' names .*idm\.safetensors, which does not exist"),
        ({"fvd_weights": "i3d.pt"}, r"'fvd_weights' names .*i3d\.pt"),
        ({"colour": 1}, r"unknown option\(s\) \['colour'\]"),
        ({"methods": ["freeaction", "unguided", "fancy"]}, r"methods\[2\]: unknown standard method 'fancy'"),
        ({"methods": ["unguided", {"name": "x", "guidance": {"type": "freeaction", "lamda": 2}}]},
         r"methods\[1\] \('x'\): unknown guidance option\(s\) \['lamda'\]"),
        ({"methods": ["unguided", {"name": "x", "truncation": {"type": "fixed", "tua": 1}}]},
         r"unknown truncation option\(s\) \['tua'\]"),
        ({"methods": ["unguided", {"name": "x", "guidance": {"type": "null", "negative": "null"}}]},
         r"'negative' applies to type 'freeaction'"),
        ({"methods": ["unguided", {"name": "x", "truncaton": {"type": "fixed"}}]},
         r"unknown method key\(s\) \['truncaton'\]; known: \['name', 'guidance', 'truncation'\]"),
        ({"methods": ["unguided", {"name": "x", "guidence": {"type": "freeaction"}}]},
         r"unknown method key.*'guidence'"),
        ({"methods": ["unguided", {"name": "x", "guidance": {"type": "freeaction", "scale": float("nan")}}]},
         r"scale \(lambda\) must be finite"),
        ({"methods": ["unguided", {"name": "x", "guidance": {"type": "freeaction", "cutoff": 0.25}}]},
         r"unknown guidance option\(s\) \['cutoff'\].*window: \[c, 1.0\]"),
        ({"mu_act": float("inf")}, r"'mu_act' must be finite"),
        ({"methods": ["freeaction"]}, r"baseline 'unguided' is not one of the methods"),
        ({"methods": ["unguided", "unguided"]}, r"unique; repeated: \['unguided'\]"),
        ({"protocols": ["short", "medium"]}, r"'protocols' must be"),
        ({"clips": 0}, r"'clips' must be at least 1"),
        ({"clips": [1, 1]}, r"distinct indices"),
        ({"seeds": 0}, r"'seeds' must be"),
        ({"sampler": "euler"}, r"unknown sampler 'euler'"),
        ({"precision": "fp8"}, r"unknown precision 'fp8'"),
        ({"bootstrap": {"resample": 10}}, r"unknown 'bootstrap' option"),
        ({"bootstrap": {"confidence": 2}}, r"'bootstrap.confidence' must be <= 1, got 2"),
        ({"bootstrap": {"confidence": 1.0}}, r"'bootstrap.confidence' must be below 1"),
        ({"bootstrap": {"confidence": float("nan")}}, r"'bootstrap.confidence' must be finite"),
        ({"bootstrap": {"resamples": -1}}, r"'bootstrap.resamples' must be >= 1, got -1"),
        ({"bootstrap": {"resamples": "many"}}, r"'bootstrap.resamples' must be a whole number"),
        ({"steps": 0}, r"'steps' must be >= 1, got 0"),
        ({"steps": "abc"}, r"'steps' must be a whole number, got 'abc'"),
        ({"steps": 2.5}, r"'steps' must be a whole number"),
        ({"clip_frames": 10**6}, r"'clip_frames' must be <= 100000, got 1000000"),
        ({"clip_frames": True}, r"'clip_frames' must be a whole number"),
        ({"long_max_actions": 0}, r"'long_max_actions' must be >= 1, got 0 \(null: whole episodes\)"),
        ({"batch_size": "eight"}, r"'batch_size' must be a whole number"),
        ({"resize": [32, "x"]}, r"'resize' must be a whole number"),
        ({"references": ["still", "frozen"]}, r"'references' must be a list of distinct names from \['still', "),
        ({"references": ["still", "still"]}, r"'references' must be a list of distinct names"),
        ({"references": ["shuffled"], "methods": ["unguided", {"name": "shuffled", "guidance": {"type": "null"}}]},
         r"method name\(s\) \['shuffled'\] are reference rows' names"),
        ({"gripper_reader": "no_such_reader.safetensors"}, r"'gripper_reader' names .*no_such_reader"),
    ],
)
def test_config_errors_name_the_culprit(tmp_path, change, message):
    with pytest.raises(InputError, match=message):
        load_eval_config(write(tmp_path, **change))


def test_unparsable_and_missing_files(tmp_path):
    with pytest.raises(InputError, match="config file not found"):
        load_eval_config(tmp_path / "absent.yaml")
    (tmp_path / "bad.toml").write_text("checkpoint = [")
    with pytest.raises(InputError, match="cannot parse"):
        load_eval_config(tmp_path / "bad.toml")


def test_sampler_defaults_to_what_the_model_folder_recommends_as_in_quality(tmp_path):
    import json

    assert (load_eval_config(write(tmp_path)).sampler, load_eval_config(write(tmp_path)).steps) == ("pndm", 50)
    (tmp_path / "ckpt" / "shipped.json").write_text(json.dumps({"sampler": "ddpm", "steps": 3}))
    picked = {}
    for name, kw in {"none": {}, "other": {"sampler": "ddim"}, "same": {"sampler": "ddpm"}, "steps": {"steps": 7},
                     "both": {"sampler": "unipc", "steps": 4}}.items():
        cfg = load_eval_config(write(tmp_path, **kw))
        picked[name] = (cfg.sampler, cfg.steps)
    assert picked == {"none": ("ddpm", 3), "other": ("ddim", 50), "same": ("ddpm", 3), "steps": ("ddpm", 7),
                      "both": ("unipc", 4)}


def test_options_are_stored_converted(tmp_path):
    boot = {"confidence": "0.9", "resamples": "50"}
    cfg = load_eval_config(write(tmp_path, steps="8", batch_size=4.0, bootstrap=boot))
    assert cfg.steps == 8 and cfg.batch_size == 4 and isinstance(cfg.batch_size, int)
    assert cfg.bootstrap == {"confidence": 0.9, "resamples": 50}


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("nan.yaml", "checkpoint: ckpt\ndataset: data\n"
                     "methods: [unguided, {name: x, guidance: {type: 'null', scale: .nan}}]\n"),
        ("nan.json", '{"checkpoint": "ckpt", "dataset": "data", "methods": ["unguided", '
                     '{"name": "x", "guidance": {"type": "null", "scale": NaN}}]}'),
        ("nan.toml", 'checkpoint = "ckpt"\ndataset = "data"\n'
                     'methods = ["unguided", {name = "x", guidance = {type = "null", scale = nan}}]\n'),
        ("inf.yaml", "checkpoint: ckpt\ndataset: data\n"
                     "methods: [unguided, {name: x, guidance: {type: freeaction, scale: .inf}}]\n"),
    ],
)
def test_non_finite_scales_in_every_file_format_are_refused(tmp_path, name, text):
    write(tmp_path)
    (tmp_path / name).write_text(text)
    with pytest.raises(InputError, match=rf"{name}: methods\[1\] \('x'\): guidance scale.* must be finite"):
        load_eval_config(tmp_path / name)


def test_a_sweep_of_nan_lambdas_is_refused_through_the_config(tmp_path):
    from freeaction.eval.sweep import expand_sweep

    write(tmp_path)
    (tmp_path / "sweep.yaml").write_text(
        "checkpoint: ckpt\ndataset: data\nsweep: {axes: [lambda], lambdas: [0.5, .nan]}\n"
    )
    cfg = load_eval_config(tmp_path / "sweep.yaml")
    with pytest.raises(InputError, match=r"sweep.yaml: sweep axis 'lambda' = nan .* must be finite"):
        expand_sweep(cfg.sweep, cfg.methods, 2, source=cfg.source)
