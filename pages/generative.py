"""Generative: GANs, VAEs, diffusion and flow matching learning a distribution live, on 2-D
data (a person's drawing too), digits and shapes; the twins, and the four families racing."""

import streamlit as st

from dlviz.labs.generative import view as gen_view
from dlviz.labs.generative import widgets as generative
from dlviz.ui import layout, live, state, url_state
from dlviz.ui.widgets import training_controls

state.ensure_app()
generative.init()

st.title("Generative")
st.caption(
    "Four ways to learn a distribution and draw new samples from it - a GAN, a VAE, diffusion "
    "and flow matching - trained live on the same data: watch the samples find the data, the "
    "discriminator's verdict under them, and whether a GAN covers every mode or collapses."
)
url_state.notice("gn")

settings, main = layout.split("gn")
with settings:
    tab_data, tab_net, tab_train = st.tabs(["Data", "Model", "Training"])
    with tab_data:
        generative.data_controls()
    with tab_net:
        generative.network_controls()
    with tab_train:
        training_controls("gn")

problem = generative.problem("single") or st.session_state.pop(generative.PROBLEM, "")
with main:
    view = live.current_view(generative.VIEW)
    busy = view is not None and view.live
    buttons = layout.row("gn_buttons")
    buttons.button(
        "Train",
        key="gn_train",
        type="primary",
        icon=":material/play_arrow:",
        on_click=generative.start,
        args=("single",),
        disabled=busy or bool(problem),
        width="stretch",
    )
    buttons.button(
        "Train the twins",
        key="gn_train_pair",
        icon=":material/compare_arrows:",
        on_click=generative.start,
        args=("pair",),
        disabled=busy or bool(generative.problem("pair")),
        help="Two GANs on the same data, seed and training, one after the other: the "
        "non-saturating loss with one discriminator step to each generator step, and the "
        "original minimax loss with five. On the ring the second collapses onto a few modes.",
        width="stretch",
    )
    buttons.button(
        "Race the four families",
        key="gn_race",
        icon=":material/sprint:",
        on_click=generative.start,
        args=("race",),
        disabled=busy or bool(generative.problem("race")),
        help="A GAN, a VAE, diffusion and flow matching at once, on the same data and seed, "
        "each with settings it does well with (VAE: β 0.3; diffusion and flow: learning rate "
        "0.003, diffusion for twice the epochs).",
        width="stretch",
    )
    with st.container():
        if problem:
            st.error(problem, icon=":material/error:")
        elif busy:
            st.caption("A run is in progress: stop it to start another.")
        else:
            st.markdown(generative.summary_line())

    with st.container():
        generative.data_panel(view is not None, busy, problem)

if view is not None:
    st.divider()
    gen_view.live_view(generative.VIEW)
