// Package notebook is the conversation of the bot Troupe ships: a small personal notebook
// of numbers.
//
// A user sends numbers, optionally labelled ("42", "12.5 coffee"); the notebook records them
// in the user's series and answers with statistics and charts; any other text is quoted
// back with a hint. [New] returns it as a bot.App for bot.New.
//
// [Notebook.Handle] is a pure function of the user's [Context] and one update: it returns
// the next Context and the bot.Actions that answer the update, and performs no I/O, so every
// command is tested here without actors or HTTP. A Context is an immutable value: its series
// is a persistent list whose versions share structure, so keeping the previous Context
// costs nothing and committing the next one is O(1).
//
// What users send is quoted back to them and, in groups, to others, so it is kept from
// misleading: labels are stored without control, bidi and other invisible characters, and
// inline buttons carry the id of the user they were sent to, so that nobody else's press
// (in a group, one that reaches the presser's own actor) is obeyed.
package notebook
