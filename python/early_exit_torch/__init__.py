"""Early Exit Studio's PyTorch engine: the Python side of src/engine/torch. It is started by the
training worker (`python -m early_exit_torch`) and speaks the JSON-lines protocol of
src/protocol/torch.ts on its stdin/stdout. It depends on PyTorch alone."""

# must equal TORCH_PROTOCOL_VERSION in src/protocol/torch.ts
PROTOCOL_VERSION = 1
