"""The training engine of the CIFAR-10 chapter: one call, ``fit(model, data)``, and its parts.

One module per concept.  Each uses only those listed after it (tested: no import goes back
up)::

    fit           fit, Run, StopRequest, stops_quietly: a training run, start to finish, and Ctrl-C
    distributed   init, processes, Processes: data-parallel under torchrun
    loader        TrainLoader, crop, downscale, shard: shuffled, augmented batches
    recipes       Recipe, RECIPES, recipe_for, lr_factor, make_optimizers: how to train
    muon          Muon, orthogonalize: the optimizer of the convolution filters
    checkpoint    save_checkpoint, read_checkpoint, load_checkpoint: atomic, weights_only
    live          LiveLoss: the loss curve, drawn while training

Import the modules (``from convbook.training.fit import fit``); this package re-exports
nothing, and loads a module only when it is imported (``recipes`` loads no torch: the
command line reads its table for ``convbook train --help``).  Around it: the data set
(:mod:`convbook.data`), the networks (:mod:`convbook.models`), the device and precision
(:mod:`convbook.hardware`), and predictions and accuracy (:mod:`convbook.inference`), which
the widgets use too.
"""
