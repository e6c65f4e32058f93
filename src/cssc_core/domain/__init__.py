"""The pure domain: members of the network and the questions asked of them. No I/O, no plugins."""
