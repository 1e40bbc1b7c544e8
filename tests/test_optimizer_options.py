"""Clipping, weight decay, Nesterov, AMSGrad and centered RMSprop each change the trajectory, and
in the way the reference says: the option's effect is far larger than the C++/reference gap."""

import pytest

from fastae import SGD, Adagrad, Adam, AdamW, RMSprop

from conftest import make_data, relative_error, trained_pair

CASES = {
    "clip_value": (dict(optimizer=Adam(lr=0.01)), dict(optimizer=Adam(lr=0.01), clip_value=0.001)),
    "clip_norm": (dict(optimizer=SGD(lr=0.5)), dict(optimizer=SGD(lr=0.5), clip_norm=0.005)),
    "sgd weight_decay": (dict(optimizer=SGD(lr=0.2)), dict(optimizer=SGD(lr=0.2, weight_decay=0.1))),
    "adagrad weight_decay": (dict(optimizer=Adagrad(lr=0.05)), dict(optimizer=Adagrad(lr=0.05, weight_decay=0.1))),
    "adam weight_decay": (dict(optimizer=Adam(lr=0.01)), dict(optimizer=Adam(lr=0.01, weight_decay=0.1))),
    "adamw weight_decay": (dict(optimizer=AdamW(lr=0.01, weight_decay=0.0)), dict(optimizer=AdamW(lr=0.01, weight_decay=0.5))),
    "adam vs adamw": (dict(optimizer=Adam(lr=0.01, weight_decay=0.1)), dict(optimizer=AdamW(lr=0.01, weight_decay=0.1))),
    "nesterov": (dict(optimizer=SGD(lr=0.1, momentum=0.9)), dict(optimizer=SGD(lr=0.1, momentum=0.9, nesterov=True))),
    "dampening": (dict(optimizer=SGD(lr=0.1, momentum=0.9)), dict(optimizer=SGD(lr=0.1, momentum=0.9, dampening=0.5))),
    "amsgrad": (dict(optimizer=Adam(lr=0.05)), dict(optimizer=Adam(lr=0.05, amsgrad=True))),
    "centered": (dict(optimizer=RMSprop(lr=0.01)), dict(optimizer=RMSprop(lr=0.01, centered=True))),
    "rmsprop momentum": (dict(optimizer=RMSprop(lr=0.01)), dict(optimizer=RMSprop(lr=0.01, momentum=0.5))),
}


@pytest.mark.parametrize("case", list(CASES))
def test_option_changes_trajectory_as_reference_says(case):
    without, with_option = CASES[case]
    X = make_data(64, 10, seed=21)
    common = dict(latent_dim=3, hidden=(6,), batch_size=16, dtype="float64", activation="tanh")
    plain, plain_ref = trained_pair(X, epochs=4, **common, **without)
    changed, changed_ref = trained_pair(X, epochs=4, **common, **with_option)
    effect = relative_error(changed.get_weights(), plain.get_weights())
    assert effect > 1e-4, f"{case} had no visible effect"
    assert relative_error(changed.get_weights(), changed_ref.get_weights()) < 1e-10
    # The reference moves by the same amount in the same direction.
    assert abs(relative_error(changed_ref.get_weights(), plain_ref.get_weights()) - effect) < 1e-9
