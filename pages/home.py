"""Home: what dlviz is and where to go."""

import streamlit as st

from dlviz.ui import layout, visibility
from dlviz.ui.state import ensure_app

ensure_app()

st.title("dlviz - a deep-learning lab in your browser")
st.markdown(
    """
Build a shallow or a deep network, train it live on real PyTorch, and watch what happens
inside: the loss falling, the decision boundary taking shape, what each neuron responds to,
and whether gradients still reach the first layers.
"""
)

# Three cards side by side on a wide screen; two, then the third under them, on a narrow one.
left, middle, right = layout.columns(3, key="home_cards", min_width=260, gap="medium")
with left:
    with st.container(border=True):
        st.subheader(":material/scatter_plot: Playground")
        st.markdown(
            """
Two-dimensional data - circle, XOR, two blobs, spiral, moons - and a network you shape:
1 to 32 hidden layers, activations, residual connections, normalisation, dropout.

- press **Train** and watch the boundary, the curves, each neuron's response map and the
  gradient norm of every layer, live, until you press Stop;
- press **Train shallow vs deep** to train both on the same data and seed and read what
  happened in plain words.
"""
        )
        st.page_link(
            "pages/playground.py", label="Open the Playground", icon=":material/arrow_forward:"
        )
    with st.container(border=True):
        st.subheader(":material/stacked_line_chart: Depth experiment")
        st.markdown(
            """
One click trains the same network at 1 to 32 layers - plain, residual and sigmoid - and
shows why depth alone stops helping: the plain network's **training** accuracy falls, the
gradient reaching its first layer **vanishes**, and residual connections fix both.
"""
        )
        st.page_link(
            "pages/depth.py", label="Open the Depth experiment", icon=":material/arrow_forward:"
        )
with middle:
    with st.container(border=True):
        st.subheader(":material/image: Images")
        st.markdown(
            """
Generated shapes or real handwritten digits, and a convolutional network: one layer, eight,
or your own blocks, with a table of every layer's shape, parameters and FLOPs.

- watch every layer's **feature maps** of a test image as it learns, and scrub back in time;
- see the first layer's **filters**, the **gradient health**, the **confusion matrix**, the
  misclassified images and **what a channel looks for**;
- press **Train shallow vs deep** and compare their feature maps side by side.
"""
        )
        st.page_link(
            "pages/images.py", label="Open the Images lab", icon=":material/arrow_forward:"
        )
    with st.container(border=True):
        st.subheader(":material/photo_library: Your images")
        st.markdown(
            """
Make classes from your own photos - files, a ZIP of folders, or the camera - and train the
same networks on them. Then show it a new picture: its **probabilities**, its **feature
maps**, and **saliency** and **Grad-CAM** maps of where it looked.
"""
        )
        st.page_link("pages/uploads.py", label="Open Your images", icon=":material/arrow_forward:")
with right:
    with st.container(border=True):
        st.subheader(":material/notes: Sequences")
        st.markdown(
            """
RNN, LSTM, GRU, a 1-D CNN and a small Transformer on symbol tasks (sort, reverse, addition,
temporal order, recall), text (sentiment, characters) and time series - or your own.

- watch **hidden states**, **gates** and **attention heads** change as it trains, and the
  gradient **vanishing through time**;
- switch heads off, **sample** text with temperature, top-k and top-p, compare forecasts
  with simple baselines;
- the **length experiment**: why LSTMs and attention beat the plain RNN over long gaps.
"""
        )
        st.page_link(
            "pages/sequences.py", label="Open the Sequence lab", icon=":material/arrow_forward:"
        )
    with st.container(border=True):
        st.subheader(":material/graphic_eq: Sound")
        st.markdown(
            """
Tones, chirps, vowels, noises, digits spoken by a synthesiser - or your own recordings,
uploaded or made in the browser. **Hear** every clip, see it become a **spectrogram**, and
train the Image lab's CNN on it (or a 1-D CNN on the raw wave).

- watch its **feature maps** of a clip you can play, as it trains;
- give it a new clip: **probabilities**, **saliency** and **Grad-CAM** over time and
  frequency, and an occlusion check of what it heard.
"""
        )
        st.page_link("pages/sound.py", label="Open the Sound lab", icon=":material/arrow_forward:")
    with st.container(border=True):
        st.subheader(":material/auto_awesome: Generative")
        st.markdown(
            """
A **GAN**, a **VAE**, **diffusion** and **flow matching** learn a distribution - 8 or 25
Gaussians, moons, a spiral, a swiss roll, **one you draw**, digits or shapes - and draw new
samples from it, live; a GAN can be **conditional** on the class.

- for a GAN: the discriminator's verdict under the samples, the generator's warp of its
  latent space, and where its loss pushes each point; **Step** one update at a time;
- modes covered and a divergence over training, an alert when a GAN **collapses**; the
  **twins** (one GAN that covers the modes, one that collapses) and the four families
  **racing**.
"""
        )
        st.page_link(
            "pages/generative.py", label="Open the Generative lab", icon=":material/arrow_forward:"
        )
    with st.container(border=True):
        st.subheader(":material/tune: Sweeps")
        st.markdown(
            """
One seed can mislead. Vary a few settings - depth, residual connections, learning rate - and
repeat each combination over **several seeds**: every trial is a run in the store, and the
page shows the **mean with its 95% band**, parallel coordinates and what each setting
explains. It runs on this machine, or on a **Ray** cluster from the command line.
"""
        )
        st.page_link("pages/sweeps.py", label="Open Sweeps", icon=":material/arrow_forward:")
    with st.container(border=True):
        st.subheader(":material/school: Things to try")
        st.markdown(
            """
1. **Depth:** on the spiral, press *Train shallow vs deep* (each network trains 200 epochs
   on the defaults). Which one can bend its boundary around the arms? The shallow net stays
   around 60% test accuracy; the deep one gets well past 80% (how far depends on the seed and
   even on the CPU's arithmetic: 81% to 93% on the default seed on two machines).
2. **Vanishing gradients:** on the *circle*, choose 12 hidden layers with *sigmoid*, press
   *Train* and watch the gradient chart: the layers near the input get gradients more than a
   billion times smaller than the output layer's, and the accuracy stays at 50%. Press
   *Stop*: the run says it learned nothing. Switch on *batch norm* (about 88%) or *residual
   connections* (99%) and train again.
3. **Overfitting:** *Moons* with noise 0.4, 100 samples, width 64; in *Training* turn off
   *Train until I press Stop* and set 300 epochs. The test loss is lowest after about 25
   epochs, then climbs while the train loss keeps falling: the network ends right on every
   training point, but on fewer test points (87%) than it was at its best (93%).
4. **Learning rate:** set it to 10 and press *Train*. With Adam on the default network ReLUs
   die in the first steps: every unit of the last hidden layer outputs zero for every input,
   so no gradient gets through (the gradient chart says so) and accuracy stays at 50%; *Stop*
   it and the run warns that the network is dead. With *SGD* on XOR with layers 64 wide, the
   loss blows up instead: the run stops by itself as soon as it becomes NaN and says why.
"""
        )

st.caption(
    "Every run is real PyTorch training in a background thread of this server; several people "
    "can train at once, each watching their own. Finished runs are saved to the run store "
    + (
        "(this server is shared: the Runs page shows each person only their own)."
        if visibility.shared()
        else "(`~/.dlviz/runs`, or `$DLVIZ_HOME/runs`), where the Runs page shows them all."
    )
)
