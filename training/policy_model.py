"""The file MLflow runs to load a registered tactful policy ("models from code").

Loading runs this code rather than unpickling an object logged with the model, so a
model file can execute nothing but what is written here. The model class lives in
:mod:`training.tracking`, the one module that imports MLflow.
"""

from training.tracking import set_policy_model

set_policy_model()
