"""The intent classifier as the trained model loads it (``dit_assistant.nlu.intent_classifier``)."""

from __future__ import annotations

import copy

import numpy as np
from scipy.sparse import random as sparse_random

from dit_assistant.nlu.intent_classifier import RobustLogisticRegressionClassifier
from tests.fixtures.bot import Bot


def loaded_classifier(bot: Bot) -> RobustLogisticRegressionClassifier:
    nodes = bot.agent.processor.graph_runner._instantiated_nodes.values()  # Rasa 3.6's runner
    (classifier,) = [
        node._component
        for node in nodes
        if isinstance(node._component, RobustLogisticRegressionClassifier)
    ]
    return classifier


def test_weights_are_kept_in_the_order_prediction_reads_them_with_the_same_results(bot: Bot):
    clf = loaded_classifier(bot).clf
    # Column by column: scipy multiplies the sparse features by coef_.T without a copy.
    assert clf.coef_.flags["F_CONTIGUOUS"] and not clf.coef_.flags["C_CONTIGUOUS"]

    row_order = copy.deepcopy(clf)
    row_order.coef_ = np.ascontiguousarray(clf.coef_)
    features = sparse_random(20, clf.coef_.shape[1], density=0.01, format="csr", random_state=3)
    assert np.array_equal(clf.predict_proba(features), row_order.predict_proba(features))
