"""Figures several labs draw: pure functions, data -> plotly Figure.

`theme` holds the look they share (colours, the fast path past plotly's validation, light and
dark pages), `axes` log axes, `curves` loss and accuracy curves, `gradients` gradient health and
`images` raster images and feature maps. A figure only one lab draws lives in that lab's
`figures.py`.
"""
