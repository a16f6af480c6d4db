"""Training data: registry assets, the synthetic sequence generator, pair sampling, crops and training sources;
the generated test scene (``synthetic``) and the in-memory frame sources of benchmarks and exports (``frame_sources``).

No ROS imports; ``generator``/``assets`` need only numpy and OpenCV, ``pairs`` needs torch.
"""
