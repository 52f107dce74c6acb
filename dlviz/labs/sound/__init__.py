"""The Sound lab: sounds to hear, see as spectrograms and train CNNs on, with your own recordings too."""
