"""Take a run with you: its model as ONNX (checked against PyTorch in onnxruntime), the run as
a plain PyTorch or Keras script, its curves as TensorBoard event files, and one bundle of all
of it. The core: imports neither streamlit nor plotly; each optional package (onnx,
onnxruntime, tensorboard, keras) is imported only where it is used, and its absence is said
with the install command."""
