"""Training data: registry assets, the synthetic sequence generator, pair sampling, crops and training sources.

No ROS imports; ``generator``/``assets`` need only numpy and OpenCV, ``pairs`` needs torch.
"""
