"""Code generation: kernel IR (kernel_ir), lowering from the graph IR (lower), the C renderer
(render_c), the compiler driver (compile) and its on-disk cache (cache). Imports only lang."""
