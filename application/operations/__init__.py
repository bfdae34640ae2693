"""Operator use cases, shared by the CLI, the console and HTTP: each written once here, over
a port the infrastructure implements (the edge never spells them out itself).

- `chain`: verify the tamper-evidence chain; its report, as a document, once.
- `read_side`: the followers' status, rebuilding read models, retrying a parked event.
- `backup`: restoring a backup (`ecovarejo restore`): its refusals, steps and outcome.
- `keys`: rotating the master key (`ecovarejo keys rotate`): local, in Vault, into Vault.
"""
