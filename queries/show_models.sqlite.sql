SELECT model.name AS name, model.family AS family, model.n_layers AS n_layers, model.d_model AS d_model, model.d_mlp AS d_mlp, model.random_init AS random_init, (SELECT count(*) AS count_1 
FROM neuron 
WHERE neuron.model_id = model.id) AS n_neurons 
FROM model ORDER BY model.name
 LIMIT ? OFFSET ?
-- parameters: {'param_1': 10001, 'param_2': 0}
