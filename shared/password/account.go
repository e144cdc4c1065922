package password

// productWords are tried as user inputs for every account: a password built
// from the product's name is as guessable as one built from the user's name.
var productWords = []string{"communitycube", "community", "cube"}

func accountInputs(userName string) []string {
	return append([]string{userName}, productWords...)
}

// ForAccount evaluates a password chosen by the user called userName. The
// browser's meter and the server both use it, so they see the same inputs.
func ForAccount(password, userName string) Estimate {
	return Evaluate(password, accountInputs(userName)...)
}

// ValidateForAccount is the node's password rule for an account: Validate
// with the user's name and the product's name as inputs.
func ValidateForAccount(password, userName string) error {
	return Validate(password, accountInputs(userName)...)
}
