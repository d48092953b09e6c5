package proxy

// toxicKind is one entry of the registry of toxic kinds: each toxic's file describes its own.
type toxicKind struct {
	name string
	// params are the ToxicSpec parameters the kind takes, by name (see ToxicSpec.params).
	params []string
	// build checks the kind's parameters and makes the toxic; the error joins every problem.
	// The shared fields (name, direction, toxicity) are checked before it is called.
	build func(ToxicSpec) (Toxic, error)
}

// toxicKinds is the registry of toxic kinds, in the order Kinds lists them. A new kind is a
// file with its type, its constructor and a Kind constant, and one line here.
func toxicKinds() []toxicKind {
	return []toxicKind{
		latencyKind(),
		bandwidthKind(),
		slowCloseKind(),
		timeoutKind(),
		resetKind(),
		limitDataKind(),
		downKind(),
	}
}

// Kinds returns the toxic kinds NewToxic understands, in a stable order.
func Kinds() []string {
	ks := toxicKinds()
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.name
	}
	return names
}

// lookupKind returns the registry entry of a kind; ok is false for an unknown kind.
func lookupKind(name string) (k toxicKind, ok bool) {
	for _, k := range toxicKinds() {
		if k.name == name {
			return k, true
		}
	}
	return toxicKind{}, false
}
