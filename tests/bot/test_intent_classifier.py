"""The intent classifier as the trained model loads it (``dit_assistant.nlu.intent_classifier``)."""

from __future__ import annotations

import copy

import numpy as np
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
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


def test_features_are_stacked_as_the_stock_classifier_stacks_them(bot: Bot, monkeypatch):
    """The classifier's own stacking of a message's features gives the stock method's matrix
    (the one every model was trained on) and the same probabilities."""
    classifier = loaded_classifier(bot)
    ours = type(classifier)._create_X
    pairs = []

    def both(self, messages):
        matrix = ours(self, messages)
        pairs.append((matrix, LogisticRegressionClassifier._create_X(self, messages)))
        return matrix

    monkeypatch.setattr(type(classifier), "_create_X", both)
    for text in [
        "what is DIT?",
        "hw much r the sesions",
        "I'm scared. can I bring my mum?",
        "🙂 ok",
    ]:
        bot.parse(text)
    assert len(pairs) >= 4
    for matrix, stock in pairs:
        assert matrix.shape == stock.shape and matrix.shape[1] == classifier.clf.coef_.shape[1]
        assert (matrix != stock.tocsr()).nnz == 0
        assert np.array_equal(
            classifier.clf.predict_proba(matrix),
            classifier.clf.predict_proba(stock),
        )
