package continuum
