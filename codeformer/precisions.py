"""The names of the precision policies (``runtime.precision_policy`` says what each does), apart from torch so that
the command line can offer them without importing it."""

PRECISIONS = ('auto', 'fp32', 'bf16-split', 'fp16-split', 'bf16', 'fp16')
